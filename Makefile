# imstatus: `make demo` to watch it work, `make check` to run every test.
# Both install what is missing with apt (as root) and build first.

PYTHON   ?= /usr/bin/python3
BUILD    ?= build
# An Asterisk with development headers builds app_imstatus.so and runs the
# real-Asterisk tests: `make ASTERISK_PREFIX=/opt/asterisk`; found there by default.
ASTERISK_PREFIX ?= $(shell test -e /opt/asterisk/include/asterisk.h && echo /opt/asterisk)
export ASTERISK_PREFIX
MESON_SETUP_ARGS = $(MESON_ARGS) $(if $(ASTERISK_PREFIX),-Dasterisk_prefix=$(ASTERISK_PREFIX))
FUZZ_SECONDS ?= 5
FUZZ_RUNS ?= -1
# What make check runs against ejabberd too (ejabberd takes ~10 s to start
# per test); make check-ejabberd runs the whole suite there.
EJABBERD_CHECK ?= two_resources or stranger or hostile or idle_xep0319 or send_unicode

# Every Debian package the build, the tests, the demo and the benchmarks need.
DEBS = build-essential meson ninja-build pkg-config \
       libglib2.0-dev libjson-glib-dev libpurple-dev libsqlite3-dev \
       prosody lua-unbound ejabberd openssl \
       python3 python3-pytest python3-pytest-xdist python3-slixmpp \
       clang libclang-rt-14-dev \
       libsystemd-dev libsoup-3.0-dev scdoc man-db debhelper lintian dpkg-dev fakeroot \
       glib-networking chromium chromium-driver python3-selenium \
       libcrypt-dev libgnutls28-dev python3-cryptography liboath-dev \
       libexpat1-dev prosody-modules valgrind

.PHONY: all deps build check check-ejabberd unit integration fuzz asan demo bench soak clean install deb valgrind-module

all: build

deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else echo "all Debian packages present"; fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_SETUP_ARGS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# meson runs every suite: unit (GTest), fuzz (the corpora replayed), layers
# (src/LAYERS held against every #include),
# integration (pytest against real servers).
unit: build
	meson test -C $(BUILD) --print-errorlogs --suite unit --suite fuzz --suite layers

integration: build
	meson test -C $(BUILD) --print-errorlogs --suite integration

# libFuzzer harnesses (clang), built by meson from the same libraries:
# `make fuzz FUZZ_SECONDS=600` for a long run, `make fuzz FUZZ_RUNS=10000000
# FUZZ_SECONDS=0 FUZZ_ONLY=ymsg` for a counted one (0 s: no time limit; -1
# runs: no count limit; FUZZ_ONLY: some harnesses; FUZZ_JOBS=2: one run shared
# by two worker processes, libFuzzer's -fork, stopping at the first crash,
# timeout or out-of-memory as a single process does).  A crash leaves crash-* in
# $(FUZZ_BUILD)/fuzz-out; keep it as a regression input in
# tests/fuzz/corpus/<harness>/.
FUZZERS = $(or $(FUZZ_ONLY),$(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c)))
FUZZ_BUILD = $(BUILD)-fuzz
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=all"

fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) $(addprefix tests/fuzz-,$(FUZZERS))
	@for f in $(FUZZERS); do \
	  mkdir -p $(FUZZ_BUILD)/fuzz-corpus/$$f $(FUZZ_BUILD)/fuzz-out; \
	  echo "fuzz-$$f: $(FUZZ_SECONDS) s, $(FUZZ_RUNS) runs"; \
	  $(FUZZ_BUILD)/tests/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) -max_len=16384 -timeout=10 \
	    $(if $(FUZZ_JOBS),-fork=$(FUZZ_JOBS) -ignore_crashes=0 -ignore_timeouts=0 -ignore_ooms=0) \
	    -artifact_prefix=$(FUZZ_BUILD)/fuzz-out/$$f- -print_final_stats=1 \
	    $(FUZZ_BUILD)/fuzz-corpus/$$f tests/fuzz/corpus/$$f 2>$(FUZZ_BUILD)/fuzz-out/$$f.log \
	    || { tail -40 $(FUZZ_BUILD)/fuzz-out/$$f.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units" $(FUZZ_BUILD)/fuzz-out/$$f.log \
	    || grep -E "^#[0-9]+: " $(FUZZ_BUILD)/fuzz-out/$$f.log | tail -1; \
	done

# The same code built with AddressSanitizer and UndefinedBehaviorSanitizer;
# any report aborts the process and fails the test that ran it (the
# integration suite runs that build's daemon).  No app_imstatus.so here: an
# instrumented module cannot load into an uninstrumented Asterisk.
ASAN_BUILD = $(BUILD)-asan
$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) $(MESON_ARGS) -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dc_args=-fno-sanitize-recover=all

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	IMS_SANITIZED=1 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --no-suite package

check: deps build
	meson test -C $(BUILD) --print-errorlogs
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	IMS_XMPP=ejabberd $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration/test_presence.py \
	  -k "$(EJABBERD_CHECK)"
	$(MAKE) --no-print-directory asan

# The whole XMPP suite against ejabberd instead of Prosody (about 9 minutes;
# make check runs its presence part).
check-ejabberd: deps build
	IMS_XMPP=ejabberd $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# app_imstatus.so under valgrind inside a real Asterisk (about 2 minutes).
valgrind-module: build
	$(PYTHON) tests/tools/valgrind_module.py

# Installs into the prefix meson was set up with (/usr/local by default):
# imstatusd, imctl, the man pages, the systemd unit, the samples.
install: build
	meson install -C $(BUILD)

# The Debian package, in the parent directory (dpkg-buildpackage's habit).
deb: deps
	dpkg-buildpackage -us -uc -b
	@ls -1 ../imstatus_*.deb

demo: deps build
	$(PYTHON) demo/demo.py

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# Benchmarks (not tests): writes BENCHMARKS.md.  BENCH_REPEAT=3 BENCH_SECONDS=3
# BENCH_SCALES=100,1000 BENCH_STREAMS=1000,10000; `make bench BENCH_ONLY="agi board"` for
# some stages (agi presence imsend naive module board startup native scale domain down).
bench: deps build
	$(PYTHON) bench/run.py $(BENCH_ONLY)

# The daemon under steady load while faults are injected at random (XMPP
# server killed and frozen, Asterisk restarted, the daemon killed, the state
# disk full, a broken reload), with the AddressSanitizer build; not part of
# `make check`.  SOAK_MINUTES=30 for the figures in BENCHMARKS.md.  ASan's
# quarantine is kept at 16 MiB: at its default 256 MiB, freed memory held
# there reads as RSS growth (198 -> 486 MiB in a 30-minute run whose plain
# build stayed at 34.4 MiB).
SOAK_MINUTES ?= 5
soak: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	IMS_BUILD=$(abspath $(ASAN_BUILD)) ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=16 \
	  UBSAN_OPTIONS=print_stacktrace=1 $(PYTHON) tests/soak/soak.py --minutes $(SOAK_MINUTES) \
	  $(if $(SOAK_REPORT),--report $(SOAK_REPORT))
