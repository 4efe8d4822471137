#!/usr/bin/python3
"""make soak: imstatusd under steady load while faults are injected at random.

A real Prosody (offline storage on, so an IM to a buddy who is reconnecting
waits for him), the faithful AMI peer, the faithful AIM server, and the
daemon (the AddressSanitizer build when there is one).  Load, all the time:
FastAGI IMStatus several times a second, an IMSend with a numbered text
every second or so, the buddy's presence flipping, the phone's device state
flipping, an HTTP event stream and an `imctl watch` client reading along.

Faults, one at a time, 10 to 30 s apart, every kind once in a random order
and again (the daemon is killed in the first half only, so the second half
is one daemon whose memory and descriptors are watched): the XMPP server killed and restarted,
frozen (SIGSTOP) and thawed, Asterisk restarted, the daemon killed with
SIGKILL and restarted, the state directory's disk full (a small tmpfs, as
root), a reload of a broken im.conf.

Checked throughout and printed at the end: every IMSend the daemon accepted
(SENT or QUEUED) arrives exactly once; no `online` answer outlives the XMPP
server by more than its bound (at once for a closed connection,
pinginterval + pingtimeout for a frozen one); every fault recovered within
its bound; the daemon's RSS and descriptors flat; no sanitizer report.

usage: soak.py [--minutes N] [--seed S] [--report FILE]
Exit status 0 when every invariant held."""
import argparse
import base64
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import ami  # noqa: E402
import asterisk  # noqa: E402
import harness  # noqa: E402
import oscar  # noqa: E402
from harness import DOMAIN, Buddy, Daemon, Prosody, free_port, wait_for  # noqa: E402

PING, PING_TIMEOUT = 5, 5
BOUNDS = {  # seconds from the end of a fault to service as before
    "xmpp-kill": 45, "xmpp-freeze": 45, "asterisk-restart": 45, "daemon-kill": 45,
    "disk-full": 30, "broken-reload": 10,
}
STALE = {"xmpp-kill": 3, "xmpp-freeze": PING + PING_TIMEOUT + 3}
AVAILABLE = {"online", "away", "idle", "busy", "xa", "chat", "dnd"}
SANITIZER = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class World:
    def __init__(self, d):
        self.dir = d
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.prosody = Prosody(os.path.join(d, "prosody"))
        with open(self.prosody.config) as f:
            cfg = f.read()
        with open(self.prosody.config, "w") as f:
            f.write(cfg.replace('"message" }', '"message"; "offline" }'))
        self.prosody.start()
        self.robot = (self.prosody.register("robot", "robot-pw"), "robot-pw")
        self.prosody.register("buckaroo", "buckaroo-pw")
        self.buddy = None
        self.received = []          # bodies, from every buddy session
        self.buddies = []
        self.new_buddy()
        self.ami = ami.FakeAmi(devices={"PJSIP/desk": "NOT_INUSE"})
        self.aim = oscar.FakeOscar()
        self.aim.add_user("pinkys", "pinkys-pw")
        self.aim.add_user("buckaroo", "buck-pw")
        self.aim_buddy = oscar.OscarClient("127.0.0.1", self.aim.auth_port, "buckaroo", "buck-pw")
        self.http_port = free_port()
        self.tmpfs = None
        statedir = os.path.join(d, "daemon", "state")
        os.makedirs(statedir, exist_ok=True)
        if os.geteuid() == 0 and subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", statedir],
                capture_output=True).returncode == 0:
            self.tmpfs = statedir
        conf = (harness.peer_conf("xmpp1", self.robot[0], self.robot[1], self.prosody,
                                  subscribe=["buckaroo"],
                                  extra=f"pinginterval = {PING}\npingtimeout = {PING_TIMEOUT}\n"
                                        "phone = PJSIP/desk\nbusymessage = on the phone")
                + f"[aim1]\ntype = aim\nusername = pinkys\nsecret = pinkys-pw\nhost = 127.0.0.1\n"
                  f"port = {self.aim.auth_port}\nsubscribe = buckaroo\n"
                + "[alice]\ntype = webuser\nsecret = alice-pw\npeers = xmpp1\n")
        self.general = (ami.general_keys(self.ami) + f"\nhttpbind = 127.0.0.1:{self.http_port}\n")
        self.daemon = Daemon(os.path.join(d, "daemon"), conf, self.general)
        self.good_conf = open(self.daemon.conf).read()
        self.daemon.start()
        self.incarnation = 0
        self.daemon.wait_peer("xmpp1", "Registered", 30)
        self.daemon.wait_status("xmpp1/buckaroo", 30, subscription="both")

    def new_buddy(self):
        b = Buddy(f"buckaroo@{DOMAIN}", "buckaroo-pw", self.prosody.port, self.prosody.ca_pem)
        with self.lock:
            old, self.buddy = self.buddy, b
            self.buddies.append(b)
        if old:
            old.close()

    def bodies(self):
        out = []
        with self.lock:
            for b in self.buddies:
                out += [m[1] for m in b.messages]
        return out

    def close(self):
        self.stop.set()
        for b in self.buddies:
            b.close()
        for x in (self.aim_buddy, self.aim):
            try:
                x.close()
            except Exception:
                pass
        self.daemon.stop()
        self.ami.stop()
        self.prosody.stop()
        if self.tmpfs:
            subprocess.run(["umount", "-l", self.tmpfs], capture_output=True)


def agi(w, app):
    try:
        return asterisk.agi(w.daemon.agi_port, f"agi://127.0.0.1/{app}", timeout=10).vars
    except Exception as e:  # the daemon is being restarted
        return {"error": type(e).__name__}


# ---- the load ----

def status_loop(w, answers):
    while not w.stop.is_set():
        v = agi(w, "IMStatus,xmpp1/buckaroo")
        answers.append((time.monotonic(), v.get("IM-STATUS"), v.get("IM-RESULT")))
        agi(w, "IMStatus,aim1/buckaroo")
        w.stop.wait(0.2)


def send_loop(w, sent):
    n = 0
    while not w.stop.is_set():
        n += 1
        v = agi(w, f"IMSend,xmpp1/buckaroo/soak-{n}")
        sent.append((n, time.monotonic(), v.get("IM-SENDSTATUS"), v.get("IM-RESULT")))
        w.stop.wait(random.uniform(0.5, 1.5))


def flip_loop(w):
    i = 0
    while not w.stop.is_set():
        i += 1
        try:
            b = w.buddy
            if i % 2:
                b.presence(show="away", status=f"away {i} & <b>")
            else:
                b.presence()
            w.ami.set_device("PJSIP/desk", "INUSE" if i % 3 == 0 else "NOT_INUSE")
        except Exception:
            pass
        w.stop.wait(2)


def sse_loop(w, counts):
    auth = base64.b64encode(b"alice:alice-pw").decode()
    while not w.stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", w.http_port), timeout=30) as s:
                s.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{w.http_port}\r\n"
                          f"Authorization: Basic {auth}\r\nAccept: text/event-stream\r\n\r\n".encode())
                f = s.makefile("rb")
                while not w.stop.is_set():
                    line = f.readline()
                    if not line:
                        break
                    if line.startswith(b"event: "):
                        counts["sse"] += 1
        except OSError:
            pass
        counts["sse_reconnects"] += 1
        w.stop.wait(1)


def watch_loop(w, counts):
    while not w.stop.is_set():
        p = subprocess.Popen([harness.IMCTL, "-s", w.daemon.socket, "watch"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            for _ in p.stdout:
                counts["watch"] += 1
                if w.stop.is_set():
                    break
        finally:
            p.kill()
            p.wait()
        counts["watch_reconnects"] += 1
        w.stop.wait(1)


def sample_loop(w, samples):
    while not w.stop.is_set():
        try:
            pid = w.daemon.proc.pid
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            samples.append((time.monotonic(), w.incarnation, rss, fds))
        except Exception:
            pass
        w.stop.wait(5)


# ---- the faults ----

def buddy_seen(w):
    v = agi(w, "IMStatus,xmpp1/buckaroo")
    return v.get("IM-RESULT") == "OK" and v.get("IM-STATUS") in AVAILABLE


def peer_registered(w):
    try:
        return w.daemon.peer("xmpp1")["status"] == "Registered"
    except Exception:
        return False


def buddy_gone(w):
    v = agi(w, "IMStatus,xmpp1/buckaroo")
    return "error" not in v and v.get("IM-STATUS") not in AVAILABLE


def timed(cond, bound):
    t0 = time.monotonic()
    try:
        wait_for(cond, bound, interval=0.2)
        return time.monotonic() - t0
    except TimeoutError:
        return None


def fault(w, kind, faults):
    rec = {"kind": kind, "start": time.monotonic(), "stale": None}
    log("fault:", kind)
    if kind == "xmpp-kill":
        os.kill(w.prosody.proc.pid, signal.SIGKILL)
        w.prosody.proc.wait(10)
        rec["stale"] = timed(lambda: buddy_gone(w), 60)
        w.prosody.proc = None
        w.stop.wait(random.uniform(2, 8))
        w.prosody.start()
        w.new_buddy()
    elif kind == "xmpp-freeze":
        os.kill(w.prosody.server_pid(), signal.SIGSTOP)
        rec["stale"] = timed(lambda: buddy_gone(w), 60)
        w.stop.wait(random.uniform(2, 6))
        os.kill(w.prosody.server_pid(), signal.SIGCONT)
    elif kind == "asterisk-restart":
        w.ami.shutdown()
        w.stop.wait(random.uniform(1, 5))
        w.ami.start()
    elif kind == "daemon-kill":
        w.daemon.proc.send_signal(signal.SIGKILL)
        w.daemon.proc.wait(10)
        w.daemon.proc = None
        w.stop.wait(random.uniform(0.5, 3))
        w.incarnation += 1
        w.daemon.start()
    elif kind == "disk-full":
        filler = os.path.join(w.tmpfs, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        w.stop.wait(random.uniform(5, 15))
        os.unlink(filler)
    elif kind == "broken-reload":
        with open(w.daemon.conf, "a") as f:
            f.write("\n[broken\nnot a key line\n")
        r = w.daemon.imctl("reload", check=False)
        rec["refused"] = r.returncode != 0
        with open(w.daemon.conf, "w") as f:
            f.write(w.good_conf)
        os.chmod(w.daemon.conf, 0o600)
    rec["end"] = time.monotonic()
    checks = [lambda: peer_registered(w), lambda: buddy_seen(w)]
    if kind == "asterisk-restart":
        checks.append(lambda: w.ami.logged_in_sessions() > 0)
    rec["recovery"] = timed(lambda: all(c() for c in checks), BOUNDS[kind])
    log(f"  stale {rec['stale']}, recovered in {rec['recovery']}")
    faults.append(rec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--report")
    a = ap.parse_args()
    random.seed(a.seed)
    d = tempfile.mkdtemp(prefix="imstatus-soak-")
    log(f"soak: {a.minutes} min, seed {a.seed}, in {d}, daemon {harness.IMSTATUSD}")
    w = World(d)
    answers, sent, samples, faults = [], [], [], []
    counts = {"sse": 0, "sse_reconnects": 0, "watch": 0, "watch_reconnects": 0}
    loops = [threading.Thread(target=f, args=args, daemon=True) for f, args in (
        (status_loop, (w, answers)), (send_loop, (w, sent)), (flip_loop, (w,)),
        (sse_loop, (w, counts)), (watch_loop, (w, counts)), (sample_loop, (w, samples)))]
    start = time.monotonic()
    ok = True
    try:
        for t in loops:
            t.start()
        kinds = list(BOUNDS)
        if not w.tmpfs:
            kinds.remove("disk-full")
            log("disk-full not injected: the state directory is not a tmpfs (needs root)")
        end = start + a.minutes * 60
        order = []
        while time.monotonic() < end - 30:
            w.stop.wait(random.uniform(10, 30))
            if time.monotonic() >= end - 30:
                break
            if not order:  # every kind once, in a random order, then again
                # The daemon is killed in the first half only: the second
                # half is one daemon, whose memory and descriptors are watched.
                late = time.monotonic() > start + a.minutes * 30
                pool = [k for k in kinds if not (late and k == "daemon-kill")]
                order = random.sample(pool, len(pool))
            fault(w, order.pop(), faults)
        w.stop.wait(max(0, end - time.monotonic()))
    finally:
        w.stop.set()
        for t in loops:
            t.join(20)
        accepted = [n for n, _, st, _ in sent if st in ("SENT", "QUEUED")]
        want = {f"soak-{n}" for n in accepted}
        try:
            wait_for(lambda: want <= set(w.bodies()), 60, what="every accepted IMSend")
        except TimeoutError:
            pass
        bodies = w.bodies()
        logs = w.daemon.read_log()
        w.close()
    got = {}
    for b in bodies:
        got[b] = got.get(b, 0) + 1
    lost = sorted(n for n in accepted if f"soak-{n}" not in got)
    dup = sorted(b for b, c in got.items() if c > 1)
    late = [f for f in faults if f["recovery"] is None]
    stale = [f for f in faults if f["stale"] is not None and f["kind"] in STALE
             and f["stale"] > STALE[f["kind"]]] + [f for f in faults if f["kind"] in STALE
                                                    and f["stale"] is None]
    sanit = [m for m in SANITIZER if m in logs]
    # Flat: within the longest-lived daemon, its last third against minutes 1-3.
    flat = "n/a"
    by = {}
    for t, inc, rss, fds in samples:
        by.setdefault(inc, []).append((t, rss, fds))
    longest = max(by.values(), key=lambda s: s[-1][0] - s[0][0]) if by else []
    if longest and longest[-1][0] - longest[0][0] >= 360:
        t0 = longest[0][0]
        early = [s for s in longest if 60 <= s[0] - t0 <= 180]
        span = longest[-1][0] - t0
        tail = [s for s in longest if s[0] - t0 >= span * 2 / 3]
        er, tr = max(s[1] for s in early), max(s[1] for s in tail)
        ef, tf = max(s[2] for s in early), max(s[2] for s in tail)
        flat = (f"RSS {er / 1024:.1f} -> {tr / 1024:.1f} MiB, descriptors {ef} -> {tf} "
                f"over {span / 60:.0f} min of one daemon")
        if tr > er * 1.25 + 2048 or tf > ef + 16:
            ok = False
            flat += " (GROWING)"
    ok = ok and not lost and not dup and not late and not stale and not sanit
    rec = [f["recovery"] for f in faults if f["recovery"] is not None]
    kinds_done = {}
    for f in faults:
        kinds_done[f["kind"]] = kinds_done.get(f["kind"], 0) + 1
    worst = max(rec) if rec else 0
    lines = [
        f"- duration {(time.monotonic() - start) / 60:.1f} min, seed {a.seed}, daemon "
        f"`{os.path.relpath(harness.IMSTATUSD, harness.ROOT)}`",
        f"- faults injected {len(faults)} ({', '.join(f'{k} {v}' for k, v in sorted(kinds_done.items()))}), "
        f"recovered within bound {len(faults) - len(late)}, worst recovery {worst:.1f} s",
        f"- stale `online` past its bound: {len(stale)}; worst time to `unknown`: "
        + ", ".join(f"{k} {max((f['stale'] for f in faults if f['kind'] == k and f['stale'] is not None), default=0):.1f} s"
                    for k in STALE),
        f"- IMSend: {len(sent)} tried, {len(accepted)} accepted (SENT or QUEUED), lost {len(lost)}, "
        f"duplicated {len(dup)}",
        f"- IMStatus answers {len(answers)}; event-stream events {counts['sse']} "
        f"({counts['sse_reconnects']} reconnects); imctl watch lines {counts['watch']} "
        f"({counts['watch_reconnects']} reconnects)",
        f"- memory and descriptors: {flat}",
        f"- sanitizer reports: {len(sanit)}",
        f"- result: {'PASS' if ok else 'FAIL'}",
    ]
    if lost:
        lines.append(f"- lost: {lost[:20]}")
    if dup:
        lines.append(f"- duplicated: {dup[:20]}")
    for f in late:
        lines.append(f"- not recovered within {BOUNDS[f['kind']]} s: {f['kind']}")
    print("\n".join(lines))
    if a.report:
        with open(a.report, "w") as f:
            f.write(f"## Soak under faults ({time.strftime('%Y-%m-%d')})\n\n"
                    "`make soak SOAK_MINUTES=N SOAK_REPORT=bench/soak.md` (tests/soak/soak.py): "
                    "a real Prosody, the faithful AMI and AIM servers, and the AddressSanitizer "
                    "build of the daemon under steady load (FastAGI IMStatus 5/s, an IMSend "
                    "about every second, presence and device-state flips, an event stream and "
                    "an `imctl watch`), with a fault every 10 to 30 s, every kind once in a "
                    "random order and again. Counts, not speeds: nothing here is a ratio.\n\n"
                    + "\n".join(lines) + "\n")
    if ok:
        subprocess.run(["rm", "-rf", d])
    else:
        log(f"kept {d} for a look")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
