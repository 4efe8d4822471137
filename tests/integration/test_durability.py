"""Nothing lost, nothing stale: durable last seen, the IMSend outbox, outages,
kill -9, and a state database that is old, damaged or unwritable."""
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

import asterisk
from harness import DOMAIN, IMSTATUSD, Buddy, peer_conf, wait_for


def imsend(d, text, to="buckaroo", peer="aim1"):
    s = asterisk.agi(d.agi_port, f"agi://127.0.0.1/IMSend,{peer}/{to}/{text}")
    return s.vars.get("IM-SENDSTATUS"), s.vars.get("IM-RESULT")


def bodies(b, prefix):
    return [m[1] for m in b.messages if m[1].startswith(prefix)]


@pytest.fixture
def world(prosody, robot, buddies, daemon):
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"],
                         extra="pinginterval = 2\npingtimeout = 3"))
    d.wait_status("aim1/buckaroo", subscription="both", status="online")
    return d, b


def test_lastseen_survives_restart_and_kill9(world):
    d, b = world
    b.unavailable()
    s = d.wait_status("aim1/buckaroo", status="offline")
    seen = s["lastseen_at"]
    assert seen and abs(seen - time.time()) < 30
    d.stop()
    d.start()
    d.wait_peer("aim1", "Registered")
    s = d.wait_status("aim1/buckaroo", status="offline")
    assert s["lastseen_at"] == seen
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    d.proc = None
    d.start()
    # Even before the peer is back, the dialplan gets the saved value.
    s = d.status("aim1/buckaroo")
    assert s["lastseen_at"] == seen
    d.wait_peer("aim1", "Registered")
    v = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,aim1/buckaroo").vars
    assert v["IM-STATUS"] == "offline" and v["IM-LASTSEEN"] == str(int((time.time() - seen) // 60))


def test_queued_while_disconnected_delivered_in_order_once(world, prosody):
    d, b = world
    b.close()
    prosody.stop()
    d.wait_peer("aim1", "Connecting")
    texts = [f"queued {i} ☎, with / and \\\"q\\\"" for i in range(5)]
    for t in texts:
        assert imsend(d, t.replace(",", "\\,")) == ("QUEUED", "NOTCONNECTED")
    assert d.imctl("send", "aim1/buckaroo", "queued 5 via imctl").stdout.strip().startswith("QUEUED")
    prosody.start()
    b2 = Buddy(f"buckaroo@{DOMAIN}", "buckaroo-pw", prosody.port, prosody.ca_pem)
    try:
        want = [t.replace('\\"', '"') for t in texts] + ["queued 5 via imctl"]
        wait_for(lambda: len(bodies(b2, "queued ")) >= 6, 20, what="6 queued messages")
        got = bodies(b2, "queued ")
        assert got == want, got
        # Nothing comes twice, nothing is left.
        assert imsend(d, "after") == ("SENT", "OK")
        b2.wait_message(lambda m: m[1] == "after")
        assert bodies(b2, "queued ") == want
    finally:
        b2.close()


def test_outbox_ttl_and_limit(prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], "wrong-password", prosody, subscribe=["buckaroo"]),
               general_extra="outboxttl = 1\noutboxmax = 3")
    d.wait_peer("aim1", "Failed")
    for i in range(3):
        assert imsend(d, f"m{i}") == ("QUEUED", "NOTCONNECTED")
    assert imsend(d, "m3") == ("FAILED", "NOTCONNECTED")
    assert "the outbox of aim1 is full (3 messages, outboxmax)" in d.read_log()
    wait_for(lambda: d.read_log().count("outbox: dropped after outboxttl") == 3, 15,
             what="3 expiry log lines")
    assert imsend(d, "m4") == ("QUEUED", "NOTCONNECTED")


def test_outage_30s_no_loss_no_duplicates(world, prosody):
    """The XMPP server is down for 30 s while IMSends keep arriving."""
    d, b = world
    b.close()
    prosody.stop()
    t_down = time.monotonic()
    d.wait_status("aim1/buckaroo", status="unknown")
    sent = []
    i = 0
    while time.monotonic() - t_down < 30:
        word, _ = imsend(d, f"outage {i}")
        assert word == "QUEUED"
        sent.append(f"outage {i}")
        i += 1
        time.sleep(0.5)  # a call every half second, not a wait for a condition
    prosody.start()
    t_up = time.monotonic()
    b2 = Buddy(f"buckaroo@{DOMAIN}", "buckaroo-pw", prosody.port, prosody.ca_pem)
    try:
        d.wait_status("aim1/buckaroo", status="online", timeout=10)
        back = time.monotonic() - t_up
        wait_for(lambda: len(bodies(b2, "outage ")) >= len(sent), 20, what="every queued IM")
        got = bodies(b2, "outage ")
        assert got == sent, f"lost {set(sent) - set(got)}, duplicated {len(got) - len(set(got))}"
        print(f"\noutage: {len(sent)} queued, {len(got)} delivered, 0 lost, 0 duplicated, "
              f"presence correct {back:.1f} s after the server returned")
    finally:
        b2.close()


def test_frozen_server_detected_by_ping(world, prosody):
    """SIGSTOP: TCP stays open but nothing answers; XMPP ping finds it."""
    d, b = world
    pid = prosody.server_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        d.wait_peer("aim1", "Connecting", timeout=20)
        detected = time.monotonic() - t0
        assert "no answer to an XMPP ping within 3 s" in d.read_log()
        assert d.status("aim1/buckaroo")["status"] == "unknown"
    finally:
        os.kill(pid, signal.SIGCONT)
    d.wait_peer("aim1", "Registered", timeout=20)
    print(f"\nfrozen server detected after {detected:.1f} s")


def test_kill9_mid_burst_accounts_for_everything(world, prosody):
    """Every IMSend answered QUEUED or SENT is delivered once or reported."""
    d, b = world
    b.close()
    prosody.stop()
    d.wait_peer("aim1", "Connecting")
    answered = []
    stop = threading.Event()

    def burst():
        i = 0
        while not stop.is_set():
            try:
                word, _ = imsend(d, f"burst {i}")
            except (OSError, TimeoutError):
                break
            if word in ("QUEUED", "SENT"):
                answered.append(f"burst {i}")
            i += 1

    t = threading.Thread(target=burst)
    t.start()
    wait_for(lambda: len(answered) >= 20, 20, what="20 answered IMSends")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    d.proc = None
    stop.set()
    t.join(20)
    prosody.start()
    b2 = Buddy(f"buckaroo@{DOMAIN}", "buckaroo-pw", prosody.port, prosody.ca_pem)
    try:
        d.start()
        d.wait_peer("aim1", "Registered")
        reported = lambda: d.read_log().count("delivery unknown")  # noqa: E731
        wait_for(lambda: len(bodies(b2, "burst ")) + reported() >= len(answered), 20,
                 what="every answered IMSend delivered or reported")
        got = bodies(b2, "burst ")
        assert len(got) == len(set(got)), "a message came twice"
        assert set(got) <= set(answered) | {f"burst {len(answered)}"}
        print(f"\nkill -9: {len(answered)} answered, {len(got)} delivered, {reported()} reported")
    finally:
        b2.close()


def test_old_schema_is_migrated(prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]), start=False)
    os.makedirs(d.statedir, exist_ok=True)
    db = sqlite3.connect(os.path.join(d.statedir, "imstatus.db"))
    db.executescript("CREATE TABLE lastseen (peer TEXT NOT NULL, buddy TEXT NOT NULL, "
                     "at INTEGER NOT NULL, PRIMARY KEY (peer, buddy)) WITHOUT ROWID;"
                     "PRAGMA user_version = 1;")
    db.execute("INSERT INTO lastseen VALUES ('aim1', 'buckaroo@imstatus.test', 1795000000)")
    db.commit()
    db.close()
    d.start()
    assert d.status("aim1/buckaroo")["lastseen_at"] == 1795000000
    assert "migrated to schema version 2" in d.read_log()
    assert imsend(d, "x", to="buckaroo")[0] in ("SENT", "QUEUED")


@pytest.mark.parametrize("damage", ["garbage", "newer", "unwritable"])
def test_bad_database_is_a_clear_startup_error(tmp_path, damage):
    state = tmp_path / "state"
    state.mkdir()
    dbfile = state / "imstatus.db"
    if damage == "garbage":
        dbfile.write_bytes(b"this is not a database" * 100)
    elif damage == "newer":
        db = sqlite3.connect(dbfile)
        db.execute("PRAGMA user_version = 99")
        db.close()
    else:
        dbfile.mkdir()  # a directory where the file should be: cannot open
    conf = tmp_path / "im.conf"
    conf.write_text(f"[general]\nstatedir = {state}\ncontrolsocket = {tmp_path}/s.sock\n"
                    f"agibind = 127.0.0.1:0\n")
    r = subprocess.run([IMSTATUSD, "-f", "-c", str(conf)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1
    assert f"state database {dbfile}" in r.stderr
    if damage == "garbage":
        assert "move the file away" in r.stderr
    if damage == "newer":
        assert "newer than this imstatusd" in r.stderr
