# imstatus: `make demo` to watch it work, `make check` to run every test.
# Both install what is missing with apt (as root) and build first.

PYTHON   ?= /usr/bin/python3
BUILD    ?= build
FUZZ_SECONDS ?= 5

# Every Debian package the build, the tests and the demo need.
DEBS = build-essential meson ninja-build pkg-config \
       libglib2.0-dev libjson-glib-dev libpurple-dev libsqlite3-dev \
       prosody lua-unbound openssl \
       python3 python3-pytest python3-slixmpp \
       clang libclang-rt-14-dev

.PHONY: all deps build check unit integration fuzz demo clean

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
	meson setup $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

unit: build
	meson test -C $(BUILD) --print-errorlogs

integration: build
	$(PYTHON) -m pytest -q tests/integration

# libFuzzer harnesses (clang); `make fuzz FUZZ_SECONDS=600` for a long run.
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/config $$(pkg-config --cflags glib-2.0)
FUZZ_LIBS = $$(pkg-config --libs glib-2.0)
$(BUILD)/fuzz-config: tests/fuzz/fuzz-config.c src/config/ims-config.c src/config/ims-config.h
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz-config.c src/config/ims-config.c $(FUZZ_LIBS)

fuzz: build $(BUILD)/fuzz-config
	mkdir -p $(BUILD)/fuzz-corpus/config
	$(BUILD)/fuzz-config -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	  $(BUILD)/fuzz-corpus/config tests/fuzz/corpus/config

check: deps build
	meson test -C $(BUILD) --print-errorlogs
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(PYTHON) -m pytest -q tests/integration

demo: deps build
	$(PYTHON) demo/demo.py

clean:
	rm -rf $(BUILD)
