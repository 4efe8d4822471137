#!/usr/bin/python3
"""make bench: measures imstatusd against the floor and against the naive way,
side by side in one run, and writes BENCHMARKS.md.  Every figure is the median
(and min..max) over BENCH_REPEAT runs.  Nothing here is a test: no figure is
asserted, they are reported.
"""
import asyncio
import base64
import datetime
import http.client
import json
import os
import platform
import pwd
import re
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402
from harness import DOMAIN, free_port, peer_conf, wait_for  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
# The libpurple peer at 10,000 buddies waits on the test Prosody for many minutes (section 3);
# a whole domain of 10,000 goes through the component (section 9).
SCALES = [int(x) for x in os.environ.get("BENCH_SCALES", "100,1000").split(",")]
TOOLS = os.path.join(harness.BUILD, "bench")
BOARD_STREAMS = [int(x) for x in os.environ.get("BENCH_STREAMS", "1000,10000").split(",")]


def build_tools():
    os.makedirs(TOOLS, exist_ok=True)
    for name, libs in (("agi-load", ["-lpthread"]), ("agi-floor", []), ("sse-load", [])):
        subprocess.run(["cc", "-O2", "-Wall", "-o", os.path.join(TOOLS, name),
                        os.path.join(HERE, name + ".c")] + libs, check=True)


def med(values):
    return statistics.median(values), min(values), max(values)


def fmt(triple, unit="", digits=0):
    m, lo, hi = triple
    f = f"{{:.{digits}f}}"
    return f"{f.format(m)}{unit} ({f.format(lo)}..{f.format(hi)})"


def agi_load(port, clients, target):
    out = subprocess.run([os.path.join(TOOLS, "agi-load"), str(port), str(clients), str(SECONDS),
                          target], capture_output=True, text=True, check=True, timeout=SECONDS + 60)
    return json.loads(out.stdout)


def agi_once(port, target):
    """One IMStatus session from Python (the faithful details are not needed
    here); returns the variables."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"agi_network: yes\nagi_network_script: IMStatus\nagi_context: bench\n"
              b"agi_extension: 1\nagi_priority: 1\nagi_arg_1: " + target.encode() + b"\n\n")
    f = s.makefile("rb")
    vars_ = {}
    for line in f:
        m = re.match(rb'SET VARIABLE (\S+) "(.*)"\n', line)
        if m:
            vars_[m.group(1).decode()] = m.group(2).decode()
        s.sendall(b"200 result=1\n")
    s.close()
    return vars_


def change_to_fastagi_ms(port, target, change, text, timeout):
    """ms from change(text) until FastAGI IMStatus of @target answers with
    @text as its status text (the polling is in the figure); None when it
    does not within @timeout s."""
    t0 = time.perf_counter()
    change(text)
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if agi_once(port, target).get("IM-STATUSTEXT") == text:
            return (time.perf_counter() - t0) * 1e3
    return None


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ns(pid):
    """CPU time of every thread of @pid, in ns (schedstat: finer than ticks)."""
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/schedstat") as f:
            total += int(f.read().split()[0])
    return total


class World:
    def __init__(self, work):
        self.work = work
        self.prosody = harness.Prosody(os.path.join(work, "prosody"))
        self.robot = self.prosody.register("robot", "robot-pw")
        self.prosody.register("buckaroo", "buckaroo-pw")
        self.prosody.start()
        self.buddy = harness.Buddy(f"buckaroo@{DOMAIN}", "buckaroo-pw", self.prosody.port,
                                   self.prosody.ca_pem)
        # Web users for the board stage: a user may hold 8 event streams.
        self.http_port = free_port()
        users = "".join(f"[w{i}]\ntype = webuser\nsecret = w{i}-pw\n"
                        for i in range(max(BOARD_STREAMS) // 8 + 1))
        self.daemon = harness.Daemon(os.path.join(work, "d"), peer_conf(
            "aim1", self.robot, "robot-pw", self.prosody, subscribe=["buckaroo"]) + users,
            general_extra=f"httpbind = 127.0.0.1:{self.http_port}\n"
                          f"httpmaxstreams = {max(BOARD_STREAMS) + 64}")
        self.daemon.start(debug=0)
        self.daemon.wait_status("aim1/buckaroo", subscription="both", status="online")

    def close(self):
        self.buddy.close()
        self.daemon.stop()
        self.prosody.stop()


def bench_agi(world, results):
    floor_port = free_port()
    floor = subprocess.Popen([os.path.join(TOOLS, "agi-floor"), str(floor_port)])
    try:
        wait_for(lambda: harness.port_open(floor_port), 5)
        world.buddy.presence(status="at my desk")
        world.daemon.wait_status("aim1/buckaroo", text="at my desk")
        rows = []
        for clients in (1, 16, 128):
            ours, base = [], []
            for _ in range(REPEAT):
                for runs, pid, port in ((base, floor.pid, floor_port),
                                        (ours, world.daemon.proc.pid, world.daemon.agi_port)):
                    c0 = cpu_ns(pid)
                    r = agi_load(port, clients, "aim1/buckaroo")
                    r["cpu_us"] = (cpu_ns(pid) - c0) / 1000 / r["sessions"]
                    runs.append(r)
            ratio = [o["per_s"] / b["per_s"] for o, b in zip(ours, base)]
            rows.append({
                "clients": clients,
                "ours_per_s": med([o["per_s"] for o in ours]),
                "floor_per_s": med([b["per_s"] for b in base]),
                "ratio": med(ratio),
                "ours_cpu_us": med([o["cpu_us"] for o in ours]),
                "floor_cpu_us": med([b["cpu_us"] for b in base]),
                "cpu_ratio": med([o["cpu_us"] / b["cpu_us"] for o, b in zip(ours, base)]),
                "ours_p50_us": med([o["p50_us"] for o in ours]),
                "ours_p99_us": med([o["p99_us"] for o in ours]),
                "floor_p50_us": med([b["p50_us"] for b in base]),
                "floor_p99_us": med([b["p99_us"] for b in base]),
                "commands": ours[0]["commands_per_session"],
            })
        results["agi"] = rows
    finally:
        floor.terminate()
        floor.wait(5)


def bench_presence_latency(world, results, flips=100):
    port = world.daemon.agi_port
    runs = []
    for _ in range(REPEAT):
        lat = []
        for i in range(flips):
            ms = change_to_fastagi_ms(port, "aim1/buckaroo",
                                      lambda t: world.buddy.presence(status=t),
                                      f"flip {time.time_ns()} {i}", 5)
            if ms is not None:
                lat.append(ms)
        lat.sort()
        runs.append((lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1], len(lat)))
    results["presence_ms"] = {"p50": med([r[0] for r in runs]), "p99": med([r[1] for r in runs]),
                              "flips": flips}


def bench_native(work, results, flips=50, buddies=1000):
    """The AIM, Yahoo and MSN drivers against the faithful servers
    (tests/integration: oscar.py, ymsg.py, msnp.py; their buddy clients as
    the driver tests use them).  Per network: a peer watching 1,000 buddies
    (one of them online and changing its away text, the others accounts that
    stay offline); the time from a change to FastAGI answering with it; how
    long until every buddy is in the store; memory per buddy against the same
    peer watching one."""
    import test_native
    out = {}
    for net in ("aim", "yahoo", "msn"):
        w = test_native.World(net, live=False)
        try:
            dom = "@hotmail.com" if net == "msn" else ""
            names = [f"bench{i:04d}{dom}" for i in range(buddies - 1)]
            for name in names:
                w.server.add_user(name, "x-pw")
            b = w.buddy()
            row = {}
            for label, extra in (("one", ""), ("many", "".join(f"subscribe={n}\n" for n in names))):
                d = harness.Daemon(os.path.join(work, f"native-{net}-{label}"), w.conf(extra=extra))
                t0 = time.perf_counter()
                d.start(debug=0)
                try:
                    peer = f"{net}1"
                    want = 1 + (len(names) if label == "many" else 0)

                    def listed():
                        # Known from the server: result OK (not NOTCONNECTED).
                        r = d.imctl("--json", "show", "subscribed", peer, check=False)
                        try:
                            return sum(x["result"] == "OK" for x in json.loads(r.stdout)) >= want
                        except ValueError:
                            return False
                    wait_for(listed, 120, interval=0.05, what=f"{net}: {want} buddies known")
                    row[f"listed_s_{label}"] = time.perf_counter() - t0
                    d.wait_status(w.who, status="online")
                    row[f"rss_kb_{label}"] = rss_kb(d.proc.pid)
                    if label == "many":
                        lat = []
                        for i in range(flips):
                            ms = change_to_fastagi_ms(d.agi_port, w.who, b.set_text,
                                                      f"flip {time.time_ns()} {i}", 10)
                            if ms is not None:
                                lat.append(ms)
                        lat.sort()
                        if len(lat) < flips:
                            raise RuntimeError(f"{net}: {flips - len(lat)} changes never answered")
                        row["p50_ms"] = lat[len(lat) // 2]
                        row["p99_ms"] = lat[int(len(lat) * 0.99) - 1]
                        row["min_ms"], row["max_ms"] = lat[0], lat[-1]
                finally:
                    d.stop()
            row["bytes_per_buddy"] = (row["rss_kb_many"] - row["rss_kb_one"]) * 1024 / len(names)
            out[net] = row
            print(f"bench: native {net}: {row}", flush=True)
        finally:
            w.close()
    results["native"] = {"buddies": buddies, "flips": flips, "nets": out}


def bench_imsend(world, results, n=300):
    port = world.daemon.agi_port
    runs = []
    for r in range(REPEAT):
        tag = f"r{r}-{time.time_ns()}"
        world.buddy.messages.clear()
        t0 = time.perf_counter()
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"agi_network: yes\nagi_network_script: IMSend\nagi_arg_1: aim1/buckaroo/"
                      + f"{tag} {i}".encode() + b"\n\n")
            f = s.makefile("rb")
            for _ in f:
                s.sendall(b"200 result=1\n")
            s.close()
        got = wait_for(lambda: (lambda m: m if len(m) >= n else None)(
            [b for _, b in world.buddy.messages if b.startswith(tag)]), 60, what="all IMs")
        elapsed = time.perf_counter() - t0
        runs.append((n / elapsed, n - len(set(got)), len(got) - len(set(got))))
    results["imsend"] = {"per_s": med([r[0] for r in runs]), "lost": max(r[1] for r in runs),
                         "duplicated": max(r[2] for r in runs), "n": n}


def bench_naive(world, results, calls=5):
    """What an admin would do without us: an AGI script that logs in to XMPP
    for every call (slixmpp), reads the buddy's presence, logs out."""
    import slixmpp
    pw = "naive-pw"
    jid = world.prosody.register("naive", pw)
    # The naive account must see buckaroo: one subscription, set up once.
    b = harness.Buddy(jid, pw, world.prosody.port, world.prosody.ca_pem, resource="setup")
    b._call(lambda: b.xmpp.send_presence_subscription(pto=f"buckaroo@{DOMAIN}"))
    wait_for(lambda: b.presences.get(f"buckaroo@{DOMAIN}"), 10, what="naive subscription")
    b.close()

    def one_call():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        x = slixmpp.ClientXMPP(f"{jid}/agi", pw)
        x.ssl_context.load_verify_locations(world.prosody.ca_pem)
        done = loop.create_future()

        def on_presence(p):
            if p["from"].bare == f"buckaroo@{DOMAIN}" and not done.done():
                done.set_result(p["status"])

        async def start(_):
            await x.get_roster()
            x.send_presence()

        x.add_event_handler("session_start", start)
        x.add_event_handler("presence", on_presence)
        t0 = time.perf_counter()
        x.connect(address=("127.0.0.1", world.prosody.port))
        loop.run_until_complete(asyncio.wait_for(done, 15))
        x.disconnect()
        loop.run_until_complete(asyncio.sleep(0.05))
        loop.close()
        return (time.perf_counter() - t0) * 1e3

    runs = [[one_call() for _ in range(calls)] for _ in range(REPEAT)]
    naive = med([statistics.median(r) for r in runs])
    ours_ms = results["agi"][0]["ours_p50_us"][0] / 1000
    results["naive"] = {"naive_ms": naive, "ours_ms": ours_ms,
                        "ratio": tuple(v / ours_ms for v in naive)}


MODULE_N = int(os.environ.get("BENCH_MODULE_CALLS", "20000"))
GRIND_N = int(os.environ.get("BENCH_GRIND_CALLS", "1000"))


def module_dialplan(world, n):
    ts = "${STRFTIME(,,%s.%6q)}"

    def loop(name, body, count):
        return (f"exten => {name},1,Set(i=0)\n same => n,Set(DB(bench/{name}-start)={ts})\n"
                f" same => n(loop),{body}\n same => n,Set(i=$[${{i}} + 1])\n"
                f" same => n,GotoIf($[${{i}} < {count}]?loop)\n"
                f" same => n,Set(DB(bench/{name}-end)={ts})\n")
    agi_n = max(n // 20, 100)
    return ("[bench]\n" + loop("empty", "NoOp()", n)
            + loop("module", "IMStatus(aim1/buckaroo)", n)
            + loop("imfunc", "Set(x=${IM_STATUS(aim1/buckaroo)})", n)
            + loop("jabber", f"Set(x=${{JABBER_STATUS(asterisk,buckaroo@{DOMAIN})}})", n)
            + loop("agiempty", "NoOp()", agi_n)
            + loop("fastagi", f"AGI(agi://127.0.0.1:{world.daemon.agi_port}/IMStatus,"
                              "aim1/buckaroo)", agi_n)
            + "exten => probe,1,Set(DB(bench/probe)=${IM_STATUS(aim1/buckaroo,statustext)})\n"
            + "[lamps]\nexten => 6001,hint,IM:aim1:buckaroo,IM:aim1:buckaroo\n"), agi_n


def run_loop(a, name, timeout=300):
    """Runs one loop of the bench context; its wall time in s."""
    a.rx(f"database del bench {name}-end")
    a.rx(f"channel originate Local/{name}@bench application Wait 1")
    end = wait_for(lambda: (lambda v: v if "Value:" in v else None)(
        a.rx(f"database get bench {name}-end")), timeout, what=f"the {name} loop")
    start = a.rx(f"database get bench {name}-start")
    return float(end.split("Value:")[1]) - float(start.split("Value:")[1])


def module_mirror(world, a, k, conf0):
    """The daemon with a peer that cannot log in and @k subscribe lines (so
    the module's mirror holds @k more buddies), once the module has them."""
    with open(world.daemon.conf, "w") as f:
        f.write(conf0 + f"[many]\ntype = jabber\nusername = x@{DOMAIN}\nsecret = x\n"
                f"host = 127.0.0.1\nport = {free_port()}\n"
                + "".join(f"subscribe = buddy{i:05d}\n" for i in range(k)))
    world.daemon.imctl("reload")
    # The watch stream is in order: once the module has a later change of
    # buckaroo, it has every buddy the reload added.
    probe = f"probe {k} {time.time_ns()}"
    world.buddy.presence(status=probe)

    def has():
        a.rx("database del bench probe")
        a.rx("channel originate Local/probe@bench application Wait 1")
        return wait_for(lambda: "Value:" in a.rx("database get bench probe"), 60) \
            and probe in a.rx("database get bench probe")
    wait_for(has, 300, what=f"the module's mirror with {k} more buddies")


def bench_module(world, results):
    """app_imstatus.so in a real Asterisk 22 with res_xmpp beside it.
    Per call, in instructions counted by callgrind (exact: nothing else the
    machine does is in them): IMStatus, IM_STATUS() and JABBER_STATUS(), with
    10 and with 10,000 more buddies in the module's mirror.  In time, in a
    second Asterisk at full speed: FastAGI IMStatus (wall time per call, loop
    minus empty loop) against the module's wall time measured the same way,
    and a presence change reaching a hint."""
    import real_asterisk
    binary = real_asterisk.find_asterisk()
    module = os.path.join(harness.BUILD, "src", "asterisk", "app_imstatus.so")
    if binary is None or not os.path.exists(module):
        raise RuntimeError("no real Asterisk, or app_imstatus.so not built")
    world.prosody.register("asterisk", "ast-pw")
    xmpp = (f"[general]\n[asterisk]\ntype=client\nserverhost=127.0.0.1\nport={world.prosody.port}\n"
            f"username=asterisk@{DOMAIN}/bench\nsecret=ast-pw\nusetls=yes\nusesasl=yes\n"
            f"status=available\nbuddy=buckaroo@{DOMAIN}\nautoregister=yes\n")
    etc = {"imstatus.conf": f"[general]\ncontrolsocket = {world.daemon.socket}\n"
                            f"daemonuser = {pwd.getpwuid(os.getuid()).pw_name}\n",
           "xmpp.conf": xmpp}
    r = {}
    conf0 = open(world.daemon.conf).read()

    # Instructions, under valgrind (a short loop: the counts are exact).
    dialplan, _ = module_dialplan(world, GRIND_N)
    out = os.path.join(world.work, "callgrind")
    os.makedirs(out, exist_ok=True)

    class Grind(real_asterisk.Asterisk):
        def start(self):
            self.log = open(os.path.join(self.dir, "asterisk.out"), "wb")
            self.proc = subprocess.Popen(harness.bound_to_test(
                ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                 "--toggle-collect=im_status_exec", "--toggle-collect=im_status_read",
                 "--toggle-collect=acf_jabberstatus_read",
                 f"--callgrind-out-file={out}/cg.out", self.binary, "-f", "-C", self.conf]),
                stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            wait_for(lambda: harness.port_open(self.ami_port) or self.proc.poll() is not None,
                     300, what="Asterisk under valgrind")
            if self.proc.poll() is not None:
                raise RuntimeError(f"asterisk under valgrind exited: {self.output()[-500:]}")
            wait_for(lambda: "fully booted" in self.rx("core waitfullybooted").lower(), 300,
                     what="Asterisk fully booted under valgrind")
            return self

    g = Grind(os.path.join(world.work, "asterisk-grind"), binary, extensions=dialplan,
              modules=["res_xmpp.so"], extra_modules=[module], verbose=False, etc_files=etc)
    g.start()
    try:
        wait_for(lambda: "aim1" in g.rx("im show peers"), 120, what="the module under valgrind")
        wait_for(lambda: "Resource:" in g.rx("xmpp show buddies"), 120, what="res_xmpp's buddy")
        dumps = [0]

        def count(name):
            subprocess.run(["callgrind_control", "-z", str(g.proc.pid)], capture_output=True,
                           check=True)
            run_loop(g, name, timeout=900)
            subprocess.run(["callgrind_control", "-d", str(g.proc.pid)], capture_output=True,
                           check=True)
            dumps[0] += 1
            path = f"{out}/cg.out.{dumps[0]}"
            wait_for(lambda: os.path.exists(path), 60, what="the callgrind dump")
            with open(path) as f:
                for line in f:
                    if line.startswith(("summary:", "totals:")):
                        return int(line.split()[1]) / GRIND_N
            raise RuntimeError("no totals in the callgrind dump")
        ins = {}
        try:
            for k in (10, 10000):
                module_mirror(world, g, k, conf0)
                ins[str(k)] = {"module": count("module"), "imfunc": count("imfunc")}
            ins["jabber"] = count("jabber")
        finally:
            with open(world.daemon.conf, "w") as f:
                f.write(conf0)
            world.daemon.imctl("reload")
        r["instructions"] = ins
    finally:
        g.stop()

    # Time, at full speed.
    dialplan, agi_n = module_dialplan(world, MODULE_N)
    a = real_asterisk.Asterisk(os.path.join(world.work, "asterisk"), binary, extensions=dialplan,
                               modules=["res_xmpp.so"], extra_modules=[module], verbose=False,
                               etc_files=etc)
    a.start()
    try:
        wait_for(lambda: "aim1" in a.rx("im show peers"), 20, what="the module")
        # Each measured loop between two empty ones, their mean subtracted.
        per = {"module": [], "fastagi": []}
        for _ in range(REPEAT):
            e1 = run_loop(a, "empty")
            mod = run_loop(a, "module")
            e2 = run_loop(a, "empty")
            per["module"].append((mod - (e1 + e2) / 2) / MODULE_N * 1e6)
            a1 = run_loop(a, "agiempty")
            agi = run_loop(a, "fastagi")
            a2 = run_loop(a, "agiempty")
            per["fastagi"].append((agi - (a1 + a2) / 2) / agi_n * 1e6)
        r.update({k: med(v) for k, v in per.items()})
        r["calls"], r["agi_calls"], r["grind_calls"] = MODULE_N, agi_n, GRIND_N

        # A presence change reaching the hint: AMI ExtensionStatus for 6001.
        c, f = real_asterisk.ami_session(a.ami_port, timeout=15)
        real_asterisk.ami_send(f, [("Action", "Login"), ("Username", "imstatus"),
                                   ("Secret", "another-s3cret"), ("Events", "call")])
        real_asterisk.ami_read(f)
        lat = []
        for i in range(40):
            busy = i % 2 == 0
            t0 = time.monotonic()
            world.buddy.presence(show="dnd" if busy else None, status=f"flip {i}")
            want = "InUse" if busy else "Idle"
            while True:
                m = real_asterisk.ami_read(f)
                if m.get("Event") == "ExtensionStatus" and m.get("Exten") == "6001" \
                        and m.get("StatusText") == want:
                    break
            lat.append((time.monotonic() - t0) * 1000)
        c.close()
        lat.sort()
        r["hint_p50_ms"] = lat[len(lat) // 2]
        r["hint_p99_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        results["module"] = r
    finally:
        a.stop()


def basic(user):
    return "Basic " + base64.b64encode(f"{user}:{user}-pw".encode()).decode()


class SseLoad:
    """bench/sse-load: N event streams read by one C process (epoll)."""

    def __init__(self, port, n, mode="client", size=0):
        args = [os.path.join(TOOLS, "sse-load"), mode, str(port), str(n)]
        if mode == "floor":
            args.append(str(size))
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)

    def line(self, timeout=120):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout)
        sel.close()
        if not ready:
            raise RuntimeError("sse-load did not answer")
        out = self.proc.stdout.readline()
        if not out:
            raise RuntimeError(f"sse-load ended ({self.proc.wait()})")
        return out.strip()

    def ask(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def close(self):
        try:
            self.proc.stdin.close()
            return self.proc.stdout.read()
        finally:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def board_flips(client, flips, change):
    """Each change timed from when it is made to when every stream has it."""
    out = []
    for f in range(flips):
        marker = f"board-{time.time_ns()}-{f}"
        t0 = time.monotonic_ns()
        client.ask(f"{marker} {t0}")
        change(marker)
        r = json.loads(client.line())
        if "error" in r:
            raise RuntimeError(r["error"])
        out.append(r)
    return out


def bench_board(world, results, flips=30):
    """BENCH_STREAMS event streams held open on one daemon (8 per web user),
    read by bench/sse-load (C, one process, epoll); the buddy changes its
    status text; the time until each stream has it, and the daemon's CPU per
    delivered event.  Then the floor in the same run: sse-load's own server
    writes an event of the same size to the same number of loopback sockets
    with write(), read by the same reader."""
    board = {}
    for n in BOARD_STREAMS:
        client = SseLoad(world.http_port, n)
        try:
            if client.line() != "ready":
                raise RuntimeError("sse-load did not open its streams")
            cpu0 = cpu_ns(world.daemon.proc.pid)
            got = board_flips(client, flips, lambda m: world.buddy.presence(status=m))
            cpu = (cpu_ns(world.daemon.proc.pid) - cpu0) / 1e3
        finally:
            client.close()
        size = int(statistics.median(r["bytes"] for r in got))
        floor_port = free_port()
        server = SseLoad(floor_port, n, mode="floor", size=size)
        try:
            if server.line() != "listening":
                raise RuntimeError("sse-load floor did not listen")
            fclient = SseLoad(floor_port, n)
            try:
                if fclient.line() != "ready":
                    raise RuntimeError("sse-load did not open the floor's streams")
                fgot = board_flips(fclient, flips, lambda m: server.ask(m))
            finally:
                fclient.close()
        finally:
            fstat = json.loads(server.close().strip().splitlines()[-1])
        daemon_us = cpu / (flips * n)
        board[str(n)] = {
            "streams": n, "flips": flips, "bytes": size,
            "p50": med([r["p50"] for r in got]), "p99": med([r["p99"] for r in got]),
            "last": med([r["last"] for r in got]),
            "floor_p50": med([r["p50"] for r in fgot]), "floor_p99": med([r["p99"] for r in fgot]),
            "floor_last": med([r["last"] for r in fgot]),
            "cpu_us_per_event": daemon_us, "floor_us_per_write": fstat["cpu_us_per_write"],
            "vs_floor": daemon_us / fstat["cpu_us_per_write"]}
        print(f"bench: board {n}: {board[str(n)]}", flush=True)
    results["board"] = {"runs": board, "status_per_s": bench_status_requests(world.http_port)}


def bench_status_requests(port):
    """GET /api/v1/status from 1 and 64 threads on keep-alive connections."""
    out = {}
    for clients in (1, 64):
        count, stop = [0] * clients, time.perf_counter() + SECONDS

        def run(i):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            h = {"Authorization": basic("w0")}
            while time.perf_counter() < stop:
                c.request("GET", "/api/v1/status/aim1/buckaroo", headers=h)
                r = c.getresponse()
                r.read()
                assert r.status == 200
                count[i] += 1
            c.close()
        threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out[str(clients)] = sum(count) / (time.perf_counter() - t0)
    return out


def bench_startup(work, results, peers=100):
    prosody = harness.Prosody(os.path.join(work, "prosody-start"))
    conf = ""
    for i in range(peers):
        prosody.register(f"r{i}", "pw")
        conf += peer_conf(f"p{i}", f"r{i}@{DOMAIN}", "pw", prosody)
    prosody.start()
    times = []
    try:
        for r in range(REPEAT):
            d = harness.Daemon(os.path.join(work, f"start{r}"), conf)
            t0 = time.perf_counter()
            d.start(debug=0)
            wait_for(lambda: all(p["status"] == "Registered" for p in d.json("show", "peers")),
                     120, interval=0.05, what="all peers Registered")
            times.append(time.perf_counter() - t0)
            d.stop()
    finally:
        prosody.stop()
    results["startup"] = {"peers": peers, "seconds": med(times)}


COMPONENT = "bots.imstatus.test"


def bench_scale(work, results):
    """N buddies on one peer, fed by a Prosody XEP-0114 component that approves
    every subscription and sends presence for each of them."""
    import slixmpp
    from slixmpp.componentxmpp import ComponentXMPP
    rows = results["scale"] = []  # rows stay even if a later size is interrupted
    prosody = harness.Prosody(os.path.join(work, "prosody-scale"))
    comp_port = free_port()
    with open(prosody.config) as f:
        cfg = f.read()
    # Global options go before the first VirtualHost; the Component after it.
    cfg = cfg.replace("VirtualHost", f'component_ports = {{ {comp_port} }}\n'
                      f'component_interfaces = {{ "127.0.0.1" }}\nVirtualHost', 1)
    # Prosody's file storage rewrites a whole roster on every change (O(N^2)
    # for N buddies, and Prosody, not imstatusd, became the bottleneck):
    # keep rosters in memory for this server.
    cfg = cfg.replace("VirtualHost", 'storage = { roster = "memory" }\nVirtualHost', 1)
    cfg += f'\nComponent "{COMPONENT}"\n    component_secret = "bench-secret"\n'
    with open(prosody.config, "w") as f:
        f.write(cfg)
    robot = prosody.register("robot", "robot-pw")
    prosody.start()
    loop = asyncio.new_event_loop()
    state = {"online": set()}

    def run_component():
        asyncio.set_event_loop(loop)
        c = ComponentXMPP(COMPONENT, "bench-secret", "127.0.0.1", comp_port)

        def on_subscribe(p):
            c.send_presence(pto=p["from"].bare, pfrom=p["to"].bare, ptype="subscribed")
            c.send_presence(pto=p["from"].bare, pfrom=p["to"].bare, pstatus="here")

        def on_probe(p):
            c.send_presence(pto=p["from"].bare, pfrom=p["to"].bare, pstatus="here")

        c.add_event_handler("presence_subscribe", on_subscribe)
        c.add_event_handler("presence_probe", on_probe)
        state["c"] = c
        c.connect()
        loop.run_forever()

    th = threading.Thread(target=run_component, daemon=True)
    th.start()
    wait_for(lambda: "c" in state and state["c"].is_connected(), 15, what="component")
    try:
        base = harness.Daemon(os.path.join(work, "scale0"),
                              peer_conf("aim1", robot, "robot-pw", prosody))
        base.start(debug=0)
        base.wait_peer("aim1", "Registered")
        rss0 = rss_kb(base.proc.pid)
        base.stop()
        for n in SCALES:
            subs = [f"b{i}@{COMPONENT}" for i in range(n)]
            conf = peer_conf("aim1", robot, "robot-pw", prosody)
            conf += "".join(f"subscribe = {', '.join(subs[i:i + 30])}\n" for i in range(0, n, 30))
            d = harness.Daemon(os.path.join(work, f"scale{n}"), conf)
            t0 = time.perf_counter()
            d.start(debug=0)
            try:
                wait_for(lambda: sum(1 for b in d.json("show", "subscribed", "aim1")
                                     if b["status"] == "online") >= n, int(os.environ.get("BENCH_SCALE_WAIT", "600")), interval=0.5,
                         what=f"{n} buddies online")  # noqa
            except TimeoutError as e:
                rows.append({"n": n, "error": str(e)})
                d.stop()
                continue
            ready = time.perf_counter() - t0
            rss = rss_kb(d.proc.pid)
            # CPU per presence update: every buddy changes status once.
            c = state["c"]
            cpu0 = cpu_s(d.proc.pid)
            tag = f"busy {time.time_ns()}"
            for s in subs:
                loop.call_soon_threadsafe(lambda s=s: c.send_presence(
                    pto=robot, pfrom=s, pshow="dnd", pstatus=tag))
            wait_for(lambda: sum(1 for b in d.json("show", "subscribed", "aim1")
                                 if b["status"] == "busy") >= n, 600, interval=0.5)
            cpu = cpu_s(d.proc.pid) - cpu0
            rows.append({"n": n, "rss_kb": rss, "rss0_kb": rss0,
                         "kb_per_buddy": (rss - rss0) / n, "ready_s": ready,
                         "cpu_us_per_update": cpu / n * 1e6})
            d.stop()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        prosody.stop()


DOMAIN_USERS = int(os.environ.get("BENCH_DOMAIN_USERS", "10000"))
DOMAIN_COMPONENT = f"phones.{harness.DOMAIN}"


async def xmpp_login(port, user, password, pipe, on_data=None):
    """One user online at a Prosody without TLS: stream, SASL PLAIN, bind,
    presence.  Returns (reader, writer) with the session open; what the
    server sends after goes to on_data(time, bytes), or is dropped."""
    r, w = await asyncio.open_connection("127.0.0.1", port)

    def send(x):
        w.write(x.encode())
    head = (f"<?xml version='1.0'?><stream:stream to='{harness.DOMAIN}' xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")

    async def until(marker):
        buf = b""
        while marker not in buf:
            chunk = await r.read(65536)
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}: {buf[-200:]!r}")
            buf += chunk
        return buf
    send(head)
    await until(b"</stream:features>")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
    await until(b"success")
    send(head)
    await until(b"</stream:features>")
    send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
         "<resource>load</resource></bind></iq>")
    await until(b"</iq>")
    send(f"<presence><status>{pipe}</status></presence>")
    await w.drain()
    # Keep reading what the server sends.
    asyncio.ensure_future(drain_forever(r, on_data))
    return r, w


async def drain_forever(r, on_data=None):
    try:
        while True:
            chunk = await r.read(65536)
            if not chunk:
                return
            if on_data:
                on_data(time.perf_counter(), chunk)
    except Exception:  # noqa: BLE001 - the session ends with the benchmark
        pass


class PresenceWatch:
    """The presences one session receives from @jid, each with when its last
    byte arrived (fed by drain_forever)."""

    def __init__(self, jid):
        self.pattern = re.compile(rf"<presence[^>]*from=['\"]{re.escape(jid)}['\"]"
                                  r"(?:[^>]*/>|.*?</presence>)", re.S)
        self.buf, self.got = "", []

    def feed(self, now, chunk):
        self.buf += chunk.decode("utf-8", "replace")
        end = 0
        for m in self.pattern.finditer(self.buf):
            self.got.append((now, m.group(0)))
            end = m.end()
        self.buf = self.buf[end:][-65536:]


def prosody_roster(prosody, user, contacts):
    """Writes @user's roster as Prosody's internal store keeps it: every
    contact with subscription both (the robot's 1,000 buddies, without
    1,000 subscription handshakes)."""
    d = os.path.join(prosody.dir, "data", harness.DOMAIN.replace(".", "%2e"), "roster")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"{user}.dat"), "w") as f:
        f.write('return {\n\t[false] = {\n\t\t["version"] = 1;\n\t};\n')
        for c in contacts:
            f.write(f'\t["{c}"] = {{\n\t\t["subscription"] = "both";\n\t\t["groups"] = {{}};\n\t}};\n')
        f.write("};\n")


def seen_count(d, peer):
    """How many of @peer's buddies the daemon has a presence for."""
    return sum(1 for b in d.json("show", "subscribed", peer) if b.get("status") != "unknown")


def flip_latency(d, loop, sessions, peer, flips=100):
    """p50/p99 (ms) from user 0's presence change to FastAGI answering with
    it, while 100 other users of @sessions change a second; and the daemon's
    CPU per presence update under those 100 a second alone."""
    stop = threading.Event()
    sent = [0]

    def background():
        i = 0
        while not stop.is_set():
            _, w_ = sessions[1 + i % (len(sessions) - 1)]
            loop.call_soon_threadsafe(w_.write, f"<presence><status>bg {i}</status></presence>".encode())
            i += 1
            sent[0] = i
            stop.wait(0.01)
    bg = threading.Thread(target=background, daemon=True)
    bg.start()
    lat = []
    _, w0 = sessions[0]
    try:
        for k in range(flips):
            ms = change_to_fastagi_ms(
                d.agi_port, f"{peer}/u0", lambda t: loop.call_soon_threadsafe(
                    w0.write, f"<presence><show>away</show><status>{t}</status></presence>".encode()),
                f"flip {k} {peer}", 10)
            if ms is None:
                raise TimeoutError(f"flip {k} not seen within 10 s")
            lat.append(ms)
        cpu0, sent0 = cpu_s(d.proc.pid), sent[0]
        time.sleep(5)
        cpu = cpu_s(d.proc.pid) - cpu0
        updates = max(1, sent[0] - sent0)
    finally:
        stop.set()
        bg.join(5)
    lat.sort()
    return {"p50_ms": statistics.median(lat), "p99_ms": lat[int(len(lat) * 0.99) - 1],
            "min_ms": lat[0], "max_ms": lat[-1], "cpu_us_per_update": cpu / updates * 1e6}


def phone_latency(watch, session, loop, fake, component, flips=100):
    """p50/p99 (ms) from Asterisk's ExtensionStatus (the faithful AMI peer)
    to the presence of the phone contact at a subscribed XMPP client."""
    _, w = session
    loop.call_soon_threadsafe(w.write, f"<presence type='subscribe' to='204@{component}'/>".encode())
    wait_for(lambda: any("dnd" not in x for _, x in watch.got), 10, what="the phone contact approved")
    lat = []
    for k in range(flips):
        busy = k % 2 == 0
        n0 = len(watch.got)
        t = time.perf_counter()
        fake.set_hint("phones", "204", "InUse" if busy else "Idle")
        arrived = wait_for(lambda: next((ts for ts, x in watch.got[n0:]
                                         if ("<show>dnd</show>" in x) == busy), None),
                           10, interval=0.001, what=f"phone flip {k}")
        lat.append((arrived - t) * 1000)
    lat.sort()
    return {"p50_ms": statistics.median(lat), "p99_ms": lat[int(len(lat) * 0.99) - 1],
            "min_ms": lat[0], "max_ms": lat[-1]}


def bench_domain(work, results):
    """A whole domain: the component (type = component, subscribe = *) at
    1,000 users side by side with the libpurple robot watching the same 1,000
    (its roster written beforehand), then the component at DOMAIN_USERS
    users online at once of a real Prosody, and a phone's change reaching a
    subscribed XMPP client."""
    import ami
    n = max(DOMAIN_USERS, 1000)
    side = 1000
    prosody = harness.Prosody(os.path.join(work, "prosody-domain"), component=DOMAIN_COMPONENT)
    with open(prosody.config) as f:
        cfg = f.read()
    # A load client without TLS (loopback only).
    cfg = cfg.replace("c2s_require_encryption = true", "c2s_require_encryption = false\n"
                      "allow_unencrypted_plain_auth = true")
    with open(prosody.config, "w") as f:
        f.write(cfg)
    # Accounts written as Prosody's internal_plain store keeps them
    # (prosodyctl takes a process per user).
    accounts = os.path.join(prosody.dir, "data", harness.DOMAIN.replace(".", "%2e"), "accounts")
    os.makedirs(accounts, exist_ok=True)
    for name in [f"u{i}" for i in range(n + 1)] + ["robot", "robot0"]:
        with open(os.path.join(accounts, f"{name}.dat"), "w") as f:
            f.write('return {\n\t["password"] = "pw";\n};\n')
    robot = f"robot@{harness.DOMAIN}"
    prosody_roster(prosody, "robot", [f"u{i}@{harness.DOMAIN}" for i in range(side)])
    for i in range(side):
        prosody_roster(prosody, f"u{i}", [robot])
    prosody.start()
    loop = asyncio.new_event_loop()
    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()

    def run(coro, timeout=900):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    watch = PresenceWatch(f"204@{DOMAIN_COMPONENT}")

    async def login(first, last):
        sem = asyncio.Semaphore(200)

        async def one(i):
            async with sem:
                return await xmpp_login(prosody.port, f"u{i}", "pw", f"user {i}",
                                        watch.feed if i == 0 else None)
        return await asyncio.gather(*(one(i) for i in range(first, last)))
    comp_conf = (f"[corp]\ntype = component\nusername = {DOMAIN_COMPONENT}\n"
                 f"secret = {prosody.component_secret}\nhost = 127.0.0.1\n"
                 f"port = {prosody.component_port}\ndomain = {harness.DOMAIN}\nsubscribe = *\n")

    def robot_conf(user, buddies):
        return (f"[robot]\ntype = jabber\nusername = {user}@{harness.DOMAIN}\nsecret = pw\n"
                f"host = 127.0.0.1\nport = {prosody.port}\ncafile = {prosody.ca_pem}\n"
                + "".join(f"subscribe = u{i}\n" for i in range(buddies)))

    def baseline(name, conf, peer):
        d = harness.Daemon(os.path.join(work, name), conf)
        d.start(debug=0)
        try:
            d.wait_peer(peer, "Registered", timeout=60)
            return rss_kb(d.proc.pid)
        finally:
            d.stop()

    def measure(name, conf, peer, count, sessions):
        d = harness.Daemon(os.path.join(work, name), conf)
        t0 = time.perf_counter()
        d.start(debug=0)
        try:
            wait_for(lambda: seen_count(d, peer) >= count, 600, interval=0.2,
                     what=f"{count} users in the store")
            out = {"ready_s": time.perf_counter() - t0, "rss_kb": rss_kb(d.proc.pid)}
            out.update(flip_latency(d, loop, sessions, peer))
            return out
        finally:
            d.stop()
    fake = ami.FakeAmi(hints={("phones", "204"): ("Custom:204", "Idle")})
    try:
        r = {"n": n, "side": side}
        # Side by side at 1,000: the component and the robot, the same users.
        t0 = time.perf_counter()
        sessions = run(login(0, side))
        r["online_side_s"] = time.perf_counter() - t0
        r["comp0_kb"] = baseline("comp0", comp_conf, "corp")
        r["robot0_kb"] = baseline("robot0", robot_conf("robot0", 0), "robot")
        r["comp_side"] = measure("comp1k", comp_conf, "corp", side, sessions)
        r["robot_side"] = measure("robot1k", robot_conf("robot", side), "robot", side, sessions)
        # The whole domain: everyone online, the component alone, publishing
        # a phone (the faithful AMI peer) to user 0.
        t0 = time.perf_counter()
        sessions += run(login(side, n))
        r["online_s"] = time.perf_counter() - t0
        d = harness.Daemon(os.path.join(work, "domain"), comp_conf + "publish = phones\n",
                           ami.general_keys(fake))
        t0 = time.perf_counter()
        d.start(debug=0)
        try:
            wait_for(lambda: seen_count(d, "corp") >= n, 600, interval=0.2,
                     what=f"{n} users in the store")
            r["ready_s"] = time.perf_counter() - t0
            r["rss_kb"] = rss_kb(d.proc.pid)
            r.update(flip_latency(d, loop, sessions, "corp"))
            r["phone"] = phone_latency(watch, sessions[0], loop, fake, DOMAIN_COMPONENT)
        finally:
            d.stop()
        results["domain"] = r
    finally:
        fake.stop()

        async def shutdown():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            run(shutdown(), 30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            prosody.stop()


DOWN_USERS = int(os.environ.get("BENCH_DOWN_USERS", "100000"))


def down_once(work, name, n, watcher):
    """A component peer with @n users online whose server goes away (and
    lets nobody back in), FastAGI asked without a pause all along, and, when
    @watcher, a raw control-socket watcher reading every line.  Returns the
    gaps between FastAGI answers around the fall, and when the watcher had
    every buddy's unknown."""
    from test_component import HostileComponentServer, hostile_conf, presence
    gone = threading.Event()

    def script(c, k):
        if k > 1:
            return
        for i in range(0, n, 5000):
            c.sendall(b"".join(presence(f"u{j}") for j in range(i, min(n, i + 5000))))
        gone.wait(600)
        srv.secret = "changed"
        c.close()
    srv = HostileComponentServer(script)
    d = harness.Daemon(os.path.join(work, name), hostile_conf(srv, subscribe="*"))
    d.start(debug=0)
    out = {}
    try:
        wait_for(lambda: agi_once(d.agi_port, f"corp/u{n - 1}").get("IM-STATUS") == "online",
                 300, interval=0.2, what=f"{n} users online")
        lines = {"unknown": 0, "dropped": False, "all_at": None}
        c = None
        if watcher:
            c, f, _ = harness.control_watch(d, timeout=120)

            def read():
                for line in f:
                    if line.startswith(b"%buddy ") and b'"status":"unknown"' in line:
                        lines["unknown"] += 1
                        if lines["unknown"] == n:
                            lines["all_at"] = time.perf_counter()
                            return
                lines["dropped"] = True
            reader = threading.Thread(target=read, daemon=True)
            reader.start()
        stamps, stop = [], threading.Event()

        def ask():
            while not stop.is_set():
                v = agi_once(d.agi_port, "corp/u5")
                stamps.append((time.perf_counter(), v.get("IM-STATUS")))
        asker = threading.Thread(target=ask, daemon=True)
        asker.start()
        wait_for(lambda: len(stamps) >= 50, 30, what="FastAGI answering")
        t0 = time.perf_counter()
        gone.set()
        wait_for(lambda: stamps and stamps[-1][1] == "unknown", 120, interval=0.01,
                 what="the peer down")
        if watcher:
            wait_for(lambda: lines["all_at"] or lines["dropped"], 300, interval=0.05,
                     what="the watcher's lines")
        # A second more of answers: the rest of the fall (the last-seen writes).
        t_end = time.perf_counter() + 1
        wait_for(lambda: time.perf_counter() >= t_end, 5, interval=0.05, what="a second")
        stop.set()
        asker.join(30)
        before = [b[0] - a[0] for a, b in zip(stamps, stamps[1:]) if b[0] < t0]
        after = [b[0] - a[0] for a, b in zip(stamps, stamps[1:]) if b[0] >= t0]
        out = {"gap_ms": max(after) * 1e3, "usual_ms": statistics.median(before) * 1e3,
               "unknown_s": next(t for t, st in stamps if t >= t0 and st == "unknown") - t0}
        if watcher:
            out["dropped"] = lines["dropped"]
            out["lines_s"] = lines["all_at"] - t0 if lines["all_at"] else None
            c.close()
    finally:
        d.stop()
        srv.close()
    return out


def bench_down(work, results):
    """Section 11: a whole domain going down, with and without a watcher."""
    r = {"n": DOWN_USERS, "none": [], "watcher": []}
    for i in range(REPEAT):
        for mode in ("none", "watcher"):
            r[mode].append(down_once(work, f"down-{mode}-{i}", DOWN_USERS, mode == "watcher"))
            print(f"bench: down {mode}: {r[mode][-1]}", flush=True)
    results["down"] = r


def write_report(results, path, partial=False):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
        cpu = m.group(1) if m else cpu
    L = [f"# Benchmarks\n",
         f"Run {results.get('when', f'{datetime.datetime.now():%Y-%m-%d %H:%M}')} on {platform.node()}: {os.cpu_count()} cores, "
         f"{cpu}, Linux {platform.release()}. Every figure is the median over {REPEAT} runs, "
         f"with min..max; each load run lasts {SECONDS:g} s. Produced by `make bench` "
         f"(bench/run.py); nothing here is asserted by a test.\n"]
    if "agi" in results:
        L.append("## 1. FastAGI IMStatus against the protocol floor\n")
        L.append("The floor (bench/agi-floor.c) reads the same environment and sends the same "
                 "9 SET VARIABLE commands, one at a time, with no lookup, single-threaded with "
                 "poll(). The load (bench/agi-load.c) plays Asterisk. Goal: >= 0.9x the floor. "
                 "imstatusd serves them on its main loop, every session's descriptor in one "
                 "source (src/agi/ims-agi-wire.c), beside everything else the daemon does. CPU is "
                 "each side's own (every thread of the daemon, schedstat) over the sessions "
                 "served; the load's is not in it. Where the rest of the time goes, and a thread "
                 "for FastAGI tried and taken out: bench/notes.md.\n")
        L.append("| clients | imstatusd sessions/s | floor sessions/s | ratio | imstatusd p50 / p99 µs | floor p50 / p99 µs | CPU µs a session: imstatusd / floor |")
        L.append("|---|---|---|---|---|---|---|")
        for r in results["agi"]:
            cpu = (f"{fmt(r['ours_cpu_us'], '', 1)} / {fmt(r['floor_cpu_us'], '', 1)}"
                   if "ours_cpu_us" in r else "not measured")
            L.append(f"| {r['clients']} | {fmt(r['ours_per_s'])} | {fmt(r['floor_per_s'])} | "
                     f"{fmt(r['ratio'], 'x', 2)} | {r['ours_p50_us'][0]:.0f} / {r['ours_p99_us'][0]:.0f} | "
                     f"{r['floor_p50_us'][0]:.0f} / {r['floor_p99_us'][0]:.0f} | {cpu} |")
        L.append("")
    if "presence_ms" in results:
        p = results["presence_ms"]
        L.append("## 2. Presence change to dialplan\n")
        L.append(f"A real slixmpp buddy changes its status text; Python polls IMStatus over FastAGI "
                 f"until it shows the new text ({p['flips']} flips a run). Goal: p99 <= 5 ms.\n")
        L.append(f"p50 {fmt(p['p50'], ' ms', 2)}, p99 {fmt(p['p99'], ' ms', 2)}\n")
    if "scale" in results:
        L.append("## 3. Scale: buddies on one peer\n")
        L.append("Presence fed by a Prosody XEP-0114 component that approves every subscription. "
                 "RSS per buddy = (RSS with N buddies - RSS with none) / N; CPU per update = "
                 "daemon CPU time while every buddy changes once / N. Goal: <= 4 KB per buddy at "
                 "10,000.\n")
        L.append("| buddies | RSS | KB per buddy | CPU per update | all online after |")
        L.append("|---|---|---|---|---|")
        for r in results["scale"]:
            if "error" in r:
                L.append(f"| {r['n']} | not reached: {r['error']} | | | |")
            else:
                L.append(f"| {r['n']} | {r['rss_kb'] / 1024:.1f} MB (none: {r['rss0_kb'] / 1024:.1f} MB) | "
                         f"{r['kb_per_buddy']:.2f} KB | {r['cpu_us_per_update']:.0f} µs | {r['ready_s']:.1f} s |")
        reached = max([r["n"] for r in results["scale"] if "error" not in r] or [0])
        if reached < 10000:
            L.append("\n(single runs.) 10,000 is not in `make bench`: with 10,000 roster "
                     "entries the test Prosody itself ran one core at 100 % and brought about "
                     "500 buddies online in two minutes, even with rosters in memory: the bound "
                     "was the server, not imstatusd. 10,000 users are measured through the "
                     "component (section 9); `make bench BENCH_ONLY=scale "
                     "BENCH_SCALES=10000` tries this one with patience.\n")
    if "imsend" in results:
        s = results["imsend"]
        L.append("## 4. IMSend to a real buddy\n")
        L.append(f"{s['n']} IMSends over FastAGI, one after another, until the buddy has them all: "
                 f"{fmt(s['per_s'], ' messages/s')}, lost {s['lost']}, duplicated {s['duplicated']}.\n")
    if "naive" in results:
        n = results["naive"]
        L.append("## 5. The naive way\n")
        L.append("An AGI script that logs in to XMPP for every call (slixmpp), waits for the "
                 "buddy's presence and logs out, against one imstatusd IMStatus session "
                 "(p50 at 1 client). Goal: >= 1000x faster. (`sendxmpp` for sending is not "
                 "measured: it is not among this project's packages.)\n")
        L.append(f"naive {fmt(n['naive_ms'], ' ms', 1)} per answer; imstatusd {n['ours_ms']:.3f} ms; "
                 f"ratio {fmt(n['ratio'], 'x')}\n")
    if "startup" in results:
        s = results["startup"]
        L.append("## 6. Start-up\n")
        L.append(f"{s['peers']} peers logging in to one Prosody: all `Registered` after "
                 f"{fmt(s['seconds'], ' s', 2)}.\n")
    if "module" in results and "instructions" in results["module"]:
        m = results["module"]
        ins = m["instructions"]
        few, many = ins["10"], ins["10000"]
        L.append("## 7. Inside Asterisk: app_imstatus.so\n")
        L.append(f"One real Asterisk 22 with app_imstatus.so and res_xmpp loaded. Per call, in "
                 f"instructions: Asterisk under `valgrind --tool=callgrind`, counting only what "
                 f"runs inside `im_status_exec` (IMStatus), `im_status_read` (IM_STATUS()) and "
                 f"`acf_jabberstatus_read` (JABBER_STATUS()) with `--toggle-collect`, over a "
                 f"dialplan loop of {m['grind_calls']:,} calls each (counters zeroed before, "
                 f"dumped after). Counts do not move with what else the machine does; they move "
                 f"by a few percent between runs with the inputs (the length of the status "
                 f"text the loop copies, where a key falls in the hash table). Each with 10 and "
                 f"with 10,000 more "
                 f"buddies in the module's mirror (a peer that cannot log in, with that many "
                 f"`subscribe` lines). IMStatus sets nine variables; the functions return one "
                 f"field. Goals: IM_STATUS within 2x of JABBER_STATUS; flat from 10 to 10,000 "
                 f"buddies.\n")
        L.append("| per call | instructions, 10 buddies | instructions, 10,000 buddies |")
        L.append("|---|---|---|")
        L.append(f"| IMStatus (module: lookup and nine variables) | {few['module']:,.0f} | "
                 f"{many['module']:,.0f} |")
        L.append(f"| IM_STATUS() (module) | {few['imfunc']:,.0f} | {many['imfunc']:,.0f} |")
        L.append(f"| JABBER_STATUS() (res_xmpp, one buddy) | {ins['jabber']:,.0f} | |")
        L.append(f"\nIM_STATUS / JABBER_STATUS: {few['imfunc'] / ins['jabber']:.2f}x; 10,000 / 10 "
                 f"buddies: IMStatus {many['module'] / few['module']:.3f}x, IM_STATUS "
                 f"{many['imfunc'] / few['imfunc']:.3f}x.\n")
        L.append(f"In time, a second Asterisk at full speed: a loop of {m['calls']:,} calls minus "
                 f"the mean of the empty loops just before and after it, {REPEAT} times "
                 f"interleaved (median, min..max: wall time of a dialplan loop moves by more "
                 f"than the module's cost, which is why the counts above are the figure): "
                 f"IMStatus (module) {fmt(m['module'], ' µs', 1)}; IMStatus over FastAGI "
                 f"({m['agi_calls']} calls, the same way) {fmt(m['fastagi'], ' µs', 0)}. "
                 f"A buddy's presence change reaching the hint (AMI ExtensionStatus): "
                 f"p50 {m['hint_p50_ms']:.1f} ms, p99 {m['hint_p99_ms']:.1f} ms.\n")
    if "board" in results and "runs" in results["board"]:
        b = results["board"]
        runs = [b["runs"][k] for k in sorted(b["runs"], key=int)]
        L.append("## 8. The presence board: event streams\n")
        L.append("Server-Sent Event streams (`/api/v1/events`, 8 per web user) held open on one "
                 "imstatusd and read by `bench/sse-load` (C, one process, epoll: not the bound, "
                 "it reads what the daemon writes with the same work as the floor's reader); a "
                 f"real slixmpp buddy changes its status text {runs[0]['flips']} times; per "
                 "change, from when it is sent to Prosody to when each stream has it (the "
                 "XMPP hop is in the figure). The floor, in the same run: sse-load's own "
                 "server writes an event of the same size (the daemon's chunk, "
                 f"{runs[0]['bytes']} bytes) to each of the same number of loopback sockets "
                 "with plain write(), read by the same reader. Daemon CPU per delivered event "
                 "is the daemon's CPU time (every thread, schedstat) over the changes / "
                 "(changes x streams); the floor's is its CPU time in the write loop / writes. "
                 "Latencies: the median over the changes, with min..max. Goals: CPU <= 1.5x "
                 "the floor; p99 <= 20 ms at 1,000 streams, <= 150 ms at 10,000.\n")
        L.append("| streams | p50 | p99 | last stream | floor p99 | daemon CPU per event | "
                 "floor CPU per write | daemon / floor |")
        L.append("|---|---|---|---|---|---|---|---|")
        for r in runs:
            L.append(f"| {r['streams']:,} | {fmt(r['p50'], ' ms', 1)} | {fmt(r['p99'], ' ms', 1)} "
                     f"| {fmt(r['last'], ' ms', 1)} | {fmt(r['floor_p99'], ' ms', 1)} | "
                     f"{r['cpu_us_per_event']:.1f} µs | {r['floor_us_per_write']:.1f} µs | "
                     f"{r['vs_floor']:.2f}x |")
        L.append("\nHow: once a stream's headers are out its connection is taken from libsoup "
                 "(`soup_server_message_steal_connection`); each change is rendered once as "
                 "one HTTP chunk and the same bytes go to every stream with one non-blocking "
                 "write; only a stream whose socket is full has a main-loop source. Before, "
                 "libsoup wrote each stream from its own source (a main-loop turn per stream "
                 "per event): 30 to 43 µs of daemon CPU per delivered event and p99 40 ms at "
                 "1,000 streams.")
        st = b["status_per_s"]
        L.append(f"\n`GET /api/v1/status` on keep-alive connections (HTTP Basic each time), from "
                 f"Python threads (the client bounds the 64-client figure): "
                 f"1 client {st['1']:.0f} requests/s, 64 clients {st['64']:.0f} requests/s.\n")
    if "domain" in results and "comp_side" in results["domain"]:
        r = results["domain"]
        c, p = r["comp_side"], r["robot_side"]
        cb = (c["rss_kb"] - r["comp0_kb"]) * 1024 / r["side"]
        pb = (p["rss_kb"] - r["robot0_kb"]) * 1024 / r["side"]
        L.append("## 9. A whole domain: the XMPP component\n")
        L.append(f"Users of a real Prosody, online at once before the daemon starts (an asyncio "
                 "load client: SASL PLAIN on loopback). The component is `type = component`, "
                 "`subscribe = *`; the robot is the libpurple `type = jabber` peer with the same "
                 "users in `subscribe` and in its roster (written beforehand, both ways). Each "
                 "daemon is measured alone, one after the other, in this run. Latency: 100 "
                 "changes of one user, each timed from the write to FastAGI answering with it, "
                 "while 100 other users change a second (the FastAGI poll is in the figure); "
                 "p50 and p99 with min..max. RSS per user is above the same daemon logged in "
                 "with nobody to watch. One run of each: the ratios, not the digits, are the "
                 "result.\n")
        L.append(f"| {r['side']:,} users | component | libpurple robot | component / robot |")
        L.append("|---|---|---|---|")
        L.append(f"| all in the store after the daemon starts | {c['ready_s']:.2f} s | "
                 f"{p['ready_s']:.2f} s | {c['ready_s'] / p['ready_s']:.2f} |")
        L.append(f"| memory per user | {cb:,.0f} B | {pb:,.0f} B | {cb / pb:.2f} |")
        L.append(f"| change to FastAGI p50 (min..max) | {c['p50_ms']:.2f} ms ({c['min_ms']:.2f}.."
                 f"{c['max_ms']:.2f}) | {p['p50_ms']:.2f} ms ({p['min_ms']:.2f}..{p['max_ms']:.2f}) "
                 f"| {c['p50_ms'] / p['p50_ms']:.2f} |")
        L.append(f"| change to FastAGI p99 | {c['p99_ms']:.2f} ms | {p['p99_ms']:.2f} ms | "
                 f"{c['p99_ms'] / p['p99_ms']:.2f} |")
        L.append(f"| CPU per presence update | {c['cpu_us_per_update']:.0f} µs | "
                 f"{p['cpu_us_per_update']:.0f} µs | "
                 f"{c['cpu_us_per_update'] / p['cpu_us_per_update']:.2f} |\n")
        b = (r["rss_kb"] - r["comp0_kb"]) * 1024 / r["n"]
        ph = r["phone"]
        L.append(f"The component with all {r['n']:,} users online (the load client took "
                 f"{r['online_s']:.1f} s to log the other {r['n'] - r['side']:,} in), against the "
                 "issue's goals:\n")
        L.append(f"- all {r['n']:,} in the store {r['ready_s']:.2f} s after the daemon starts "
                 f"(goal <= 5 s: {'met' if r['ready_s'] <= 5 else 'not met'})")
        L.append(f"- RSS {r['rss_kb'] / 1024:.1f} MiB, {r['comp0_kb'] / 1024:.1f} MiB with nobody "
                 f"online: {b:,.0f} bytes a user (goal <= 2 KB: "
                 f"{'met' if b <= 2048 else 'not met'}; with the readiness poll, `imctl "
                 "--json show subscribed` of every user every 0.2 s, in it: 4.2 KB a user "
                 "before GLib's slice allocator was turned off, which kept what that JSON "
                 "had freed)")
        L.append(f"- a change to FastAGI while 100 other users change a second: p50 "
                 f"{r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms (min..max {r['min_ms']:.2f}.."
                 f"{r['max_ms']:.2f}; goal p99 <= 5 ms: {'met' if r['p99_ms'] <= 5 else 'not met'})")
        L.append(f"- CPU per presence update {r['cpu_us_per_update']:.0f} µs")
        L.append(f"- a phone's change (ExtensionStatus from the faithful AMI peer) to the presence "
                 f"of `204@{DOMAIN_COMPONENT}` at a subscribed client: p50 {ph['p50_ms']:.2f} ms, "
                 f"p99 {ph['p99_ms']:.2f} ms (min..max {ph['min_ms']:.2f}..{ph['max_ms']:.2f})\n")
    if "native" in results:
        n = results["native"]
        L.append("## 10. The native drivers: AIM, Yahoo, MSN\n")
        L.append(f"Each driver against its faithful server (tests/integration: oscar.py, ymsg.py, "
                 f"msnp.py), with the buddy client the driver tests use. The peer watches "
                 f"{n['buddies']:,} buddies: one online, changing its away text {n['flips']} "
                 f"times, each change timed from the client's write to FastAGI answering with it "
                 f"(the FastAGI poll is in the figure); the others are accounts that stay "
                 f"offline. Known: until every buddy has an answer from the server (result OK). "
                 f"Memory: RSS with {n['buddies']:,} buddies minus RSS of the same peer watching "
                 f"one, per buddy. One run each.\n")
        L.append("| network | change to FastAGI p50 | p99 (min..max) | all known after | "
                 "one buddy known after | memory per buddy |")
        L.append("|---|---|---|---|---|---|")
        for net, r in n["nets"].items():
            L.append(f"| {net} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms "
                     f"({r['min_ms']:.2f}..{r['max_ms']:.2f}) | {r['listed_s_many']:.2f} s | "
                     f"{r['listed_s_one']:.2f} s | {r['bytes_per_buddy']:,.0f} B |")
        L.append("\nFound by this stage: the faithful OSCAR server wrote without TCP_NODELAY, "
                 "and a change waited about 40 ms (Nagle's algorithm against the daemon's "
                 "delayed ACK: AIM p50 44 ms against 0.3 to 0.6 ms for the others); the fake "
                 "now sets it, as the daemon does on its own IM connections.\n")
    if "down" in results:
        r = results["down"]
        L.append("## 11. A whole domain going down\n")
        L.append(f"A component peer with {r['n']:,} users online (`subscribe = *`, a scripted "
                 "server on loopback, tests/integration/test_component.py) loses its server, "
                 "which lets nobody back in: every user becomes unknown at once. Meanwhile a "
                 "Python client asks FastAGI IMStatus without a pause; the figure is the longest "
                 "gap between two of its answers from the fall to a second after the last "
                 "buddy's line, against its usual gap (the median before the fall: the floor of "
                 "this method). With a watcher: a raw control-socket client reading every line "
                 f"(the module is such a client). {REPEAT} runs of each, median (min..max).\n")
        L.append("| | longest FastAGI gap | usual gap | FastAGI says unknown after | "
                 "the watcher has every line after | watcher dropped |")
        L.append("|---|---|---|---|---|---|")
        for mode, label in (("none", "nobody watching"), ("watcher", "one watcher")):
            runs = r[mode]
            if not runs:
                continue
            lines = [x["lines_s"] for x in runs if x.get("lines_s") is not None]
            L.append(f"| {label} | {fmt(med([x['gap_ms'] for x in runs]), ' ms')} | "
                     f"{fmt(med([x['usual_ms'] for x in runs]), ' ms', 1)} | "
                     f"{fmt(med([x['unknown_s'] for x in runs]), ' s', 2)} | "
                     + (f"{fmt(med(lines), ' s', 2)} | " if lines else "- | ")
                     + (f"{sum(1 for x in runs if x.get('dropped'))} of {len(runs)} |"
                        if mode == "watcher" else "- |"))
        L.append("\nBefore commits a02febf and b4fd1b5 (measured by hand, one run, 100,000 "
                 "users, one watcher, timing `imctl status` through the fall): the daemon did "
                 "not answer for 4.8 s, of which 3.1 s were "
                 "one SQLite commit per buddy's last-seen time and most of the rest the JSON of "
                 "each buddy's line, rendered and written in the one callback that marked them "
                 "unknown; the watcher was often dropped (more than 1 MiB unread). Now last-seen "
                 "times are written 4,096 a transaction and a turn, and watchers get 256 changes "
                 "a main-loop turn (src/store/ims-store-feed.c).\n")
    for f in results.get("failed", []):
        L.append(f"**Not measured in this run:** {f}\n")
    # Hand-kept notes, and the records of runs too long for `make bench`
    # (make soak SOAK_REPORT=bench/soak.md; the long fuzz runs).
    for name in ("notes.md", "soak.md", "fuzz.md"):
        if os.path.exists(os.path.join(HERE, name)):
            with open(os.path.join(HERE, name)) as f:
                L.append(f.read())
    text = "\n".join(L)
    if partial and os.path.exists(path):
        with open(path) as f:
            text = merge_sections(f.read(), text)
    with open(path, "w") as f:
        f.write(text)


def split_sections(text):
    """The text before the first '## ' heading, and [(heading, body)] after it."""
    parts = re.split(r"(?m)^(?=## )", text)
    head, rest = parts[0], parts[1:]
    return head, [(p.splitlines()[0], p) for p in rest]


def merge_sections(old, new):
    """A partial run replaces the sections it measured and keeps the others
    of the last full run, in their order."""
    old_head, old_secs = split_sections(old)
    _, new_secs = split_sections(new)
    fresh = dict(new_secs)
    # The head says when the full run was; a line says what was re-measured.
    # Those whose figures changed: the report is drawn from every stage's
    # last results, so the sections this run did not measure come out alike.
    before = dict(old_secs)
    names = ", ".join(h[3:].split(":")[0] for h, body in new_secs
                      if re.match(r"## \d+\.", h) and before.get(h) != body)
    if names:
        old_head = re.sub(r"(?m)^Re-measured .*\n\n?", "", old_head)
        old_head += (f"Re-measured {datetime.datetime.now():%Y-%m-%d %H:%M} on "
                     f"{platform.node()}: {names}.\n\n")
    out, seen = [old_head], set()
    for heading, body in old_secs:
        out.append(fresh.get(heading, body))
        seen.add(heading)
    out += [body for heading, body in new_secs if heading not in seen]
    return "".join(out)


def main():
    build_tools()
    # Room for the board stage's streams, here and in the daemon started here.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    only = set(sys.argv[1:])
    saved = os.path.join(TOOLS, "results.json")
    results = {}
    if only and os.path.exists(saved):
        # A partial run updates the last full one.
        with open(saved) as f:
            results = {k: v for k, v in json.load(f).items() if k != "failed"}
    work = tempfile.mkdtemp(prefix="imstatus-bench-")
    if not only:
        results["when"] = f"{datetime.datetime.now():%Y-%m-%d %H:%M}"

    def stage(name, fn, *args):
        if only and name not in only:
            return
        print(f"bench: {name}", flush=True)
        try:
            fn(*args, results)
        except Exception as e:  # noqa: BLE001 - a failed stage is reported, the rest runs
            results.setdefault("failed", []).append(f"{name}: {type(e).__name__}: {e}")
            print(f"bench: {name} failed: {e}", flush=True)

    try:
        world = World(work)
        try:
            stage("agi", bench_agi, world)
            stage("presence", bench_presence_latency, world)
            stage("imsend", bench_imsend, world)
            if "agi" in results:
                stage("naive", bench_naive, world)
            stage("module", bench_module, world)
            stage("board", bench_board, world)
        finally:
            world.close()
        stage("startup", bench_startup, work)
        stage("native", bench_native, work)
        stage("scale", bench_scale, work)
        stage("domain", bench_domain, work)
        stage("down", bench_down, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(results, indent=1, default=str))
        with open(saved, "w") as f:
            json.dump(results, f)
        write_report(results, os.path.join(ROOT, "BENCHMARKS.md"), partial=bool(only))
        print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
