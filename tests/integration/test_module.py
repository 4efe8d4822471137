"""app_imstatus.so inside a real Asterisk 22: the seed's dialplan with
IMStatus() and IMSend() as applications, IM_STATUS(), the seed's CLI, and
IM:<peer>:<user> lamps, against a real Prosody and slixmpp buddies.  Skipped
with one line where there is no Asterisk or the module was not built."""
import os
import re
import signal

import pytest

import real_asterisk
from harness import BUILD, DOMAIN, free_port, peer_conf, wait_for
from test_agi import HOSTILE, safe_rendering

MODULE = os.path.join(BUILD, "src", "asterisk", "app_imstatus.so")
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "asterisk",
                    "app_imstatus-en_US.xml")
VARS = ["IM-STATUS", "IM-IDLETIME", "IM-STATUSTEXT", "IM-LASTSEEN", "IM-STATUSPREFIX",
        "IM-STATUSURI", "IM-RESOURCE", "IM-SHOW", "IM-RESULT"]

# The seed's dialplan, as Asterisk spells it today (Set for SetVar, a Local
# channel for Zap), plus probes that print what the dialplan sees.
SEED = """
[seed]
exten => 1233,1,Set(CALLMESSAGE=ACME Corp is calling. They do 2M in sales with us - pick up the phone!)
exten => 1233,2,NoOp(start)
exten => 1233,3,IMStatus(aim1/buckaroo)
exten => 1233,4,GotoIf($["${IM-STATUS}" = "offline"]?5:10)
exten => 1233,5,NoOp(RESULT|cell)
exten => 1233,6,Hangup()
exten => 1233,10,GotoIf($["${IM-STATUS}" = "online"]?11:20)
exten => 1233,11,IMSend(aim1/buckaroo/${CALLMESSAGE})
exten => 1233,12,NoOp(RESULT|desk-with-message|${IM-SENDSTATUS})
exten => 1233,13,Hangup()
exten => 1233,20,NoOp(RESULT|voicemail|${IM-STATUS})
exten => 1233,21,Hangup()

[probeopt]
exten => s,1,IMStatus(${TARGET},${OPTS})
 same => n,NoOp(VARS|${IM-STATUS}|${IM-IDLETIME}|${IM-STATUSTEXT}|${IM-LASTSEEN}|${IM-STATUSPREFIX}|${IM-STATUSURI}|${IM-RESOURCE}|${IM-SHOW}|${IM-RESULT})
 same => n,Hangup()

[probe]
exten => s,1,IMStatus(${TARGET})
 same => n,NoOp(VARS|${IM-STATUS}|${IM-IDLETIME}|${IM-STATUSTEXT}|${IM-LASTSEEN}|${IM-STATUSPREFIX}|${IM-STATUSURI}|${IM-RESOURCE}|${IM-SHOW}|${IM-RESULT})
 same => n,NoOp(FUNC|${IM_STATUS(${TARGET})}|${IM_STATUS(${TARGET},show)}|${DEVICE_STATE(IM:aim1:buckaroo)}|${PRESENCE_STATE(IM:aim1:buckaroo,value)}|${PRESENCE_STATE(IM:aim1:buckaroo,message)})
 same => n,Hangup()
 same => 102,NoOp(JUMPED|${IM-RESULT})
 same => n,Hangup()

[lamp]
exten => s,1,NoOp(LAMP|${DEVICE_STATE(IM:aim1:buckaroo)}|${PRESENCE_STATE(IM:aim1:buckaroo,value)})
 same => n,Hangup()
[hostile]
exten => s,1,IMStatus(aim1/buckaroo)
 same => n,Set(DB(ims/text)=${IM-STATUSTEXT})
 same => n,Set(DB(ims/func)=${IM_STATUS(aim1/buckaroo,statustext)})
 same => n,Set(DB(ims/seq)=${SEQ})

[inject]
exten => s,1,IMSend(aim1/b${BASE64_DECODE(CmRlYnVnIGludGVuc2U=)}/hello)
 same => n,NoOp(INJECT|${IM-SENDSTATUS}|${IM-RESULT})
[sender]
exten => s,1,IMSend(aim1/buckaroo/Hello, world / slashes and, commas)
 same => n,NoOp(SENT|${IM-SENDSTATUS}|${IM-RESULT})

[lamps]
exten => 6001,hint,IM:aim1:buckaroo,IM:aim1:buckaroo
"""


@pytest.fixture
def world(tmp_path, prosody, robot, buddies, daemon):
    binary = real_asterisk.require_asterisk()
    if not os.path.exists(MODULE):
        pytest.skip("app_imstatus.so not built (no Asterisk headers at build time)")
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]))
    d.wait_status("aim1/buckaroo", subscription="both")
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, extensions=SEED,
                               extra_modules=[MODULE], extra_docs=[DOCS],
                               modules=["func_base64.so"],
                               etc_files={"imstatus.conf": f"[general]\ncontrolsocket = {d.socket}\ndaemonuser = root\n"})
    a.start()
    try:
        wait_for(lambda: "aim1" in a.rx("im show peers"), 20, what="the module watching the daemon")
        yield a, d, b
    finally:
        a.stop()


class Runner:
    """Runs a dialplan context on a Local channel and reads what it printed
    (the NoOp lines of Asterisk's log)."""

    def __init__(self, a):
        self.a = a
        self.seen = {}

    def lines(self, ctx, marker):
        return re.findall(r'NoOp\("Local/s@' + ctx + r'[^"]*", "(' + marker + r'\|[^"]*)"\)',
                          self.a.output())

    def run(self, ctx, marker, **globals_):
        for k, v in globals_.items():
            self.a.rx(f"dialplan set global {k} {v}")
        before = len(self.lines(ctx, marker))
        self.a.rx(f"channel originate Local/s@{ctx} application Wait 1")
        got = wait_for(lambda: (lambda l: l if len(l) > before else None)(self.lines(ctx, marker)),
                       20, what=f"{marker} from [{ctx}]")
        return got[-1].split("|")[1:]


def probe(r, target="aim1/buckaroo", opts=None):
    if opts is None:
        vals = r.run("probe", "VARS", TARGET=target)
    else:
        vals = r.run("probeopt", "VARS", TARGET=target, OPTS=opts)
    return dict(zip(VARS, vals))


def test_every_variable_and_the_lamps(world):
    a, d, b = world
    r = Runner(a)
    kinds = [
        (dict(status="work: at my desk"), "online", "available", "NOT_INUSE", "available"),
        (dict(show="away", status="mobile: sip:12156667777@pbx.example.org"), "away", "away",
         "NOT_INUSE", "away"),
        (dict(show="xa", status="gone home"), "away", "xa", "NOT_INUSE", "xa"),
        (dict(show="dnd", status="on a call"), "busy", "dnd", "INUSE", "dnd"),
        (dict(status="reading", idle_seconds=140), "idle", "available", "NOT_INUSE", "available"),
    ]
    for presence, word, show, dev, pres in kinds:
        b.presence(**presence)
        d.wait_status("aim1/buckaroo", status=word, text=presence["status"])
        wait_for(lambda: probe(r)["IM-STATUSTEXT"] == presence["status"], 10,
                 what="the module to see the change")
        v = probe(r)
        want = d.status("aim1/buckaroo")
        assert v["IM-STATUS"] == word and v["IM-SHOW"] == show and v["IM-RESULT"] == "OK"
        assert v["IM-STATUSPREFIX"] == want["prefix"] and v["IM-STATUSURI"] == want["uri"]
        assert v["IM-RESOURCE"] == "phone"
        assert abs(int(v["IM-IDLETIME"]) - want["idle"]) <= 2
        f = r.run("probe", "FUNC")
        assert f[0] == word and f[1] == show and f[2] == dev and f[3] == pres
        assert f[4] == presence["status"]
        hints = a.rx("core show hints")
        assert re.search(r"6001@lamps\s*: IM:aim1:buckaroo,IM:aim1:buckaroo\s+State:" +
                         {"NOT_INUSE": "Idle", "INUSE": "InUse"}[dev] + r"\s+Presence:" + pres,
                         hints), hints
    # AMI subscribers hear it as Asterisk's own events.
    c, f = real_asterisk.ami_session(a.ami_port, timeout=15)
    real_asterisk.ami_send(f, [("Action", "Login"), ("Username", "imstatus"),
                               ("Secret", "another-s3cret"), ("Events", "call")])
    real_asterisk.ami_read(f)
    b.presence(show="dnd", status="on the phone")
    seen = set()
    while seen != {"ext", "pres"}:
        m = real_asterisk.ami_read(f)
        assert m, "the manager closed the connection"
        if m.get("Event") == "ExtensionStatus" and m.get("Exten") == "6001" \
                and m.get("StatusText") == "InUse":
            seen.add("ext")
        if m.get("Event") == "PresenceStateChange" and m.get("Presentity") == "IM:aim1:buckaroo" \
                and m.get("Status") == "dnd" and m.get("Message") == "on the phone":
            seen.add("pres")
    c.close()
    b.unavailable()
    d.wait_status("aim1/buckaroo", status="offline")
    wait_for(lambda: probe(r)["IM-STATUS"] == "offline", 10, what="offline in the module")
    assert "State:Unavailable" in a.rx("core show hints")


def db_get(a, key):
    out = a.rx(f"database get ims {key}")
    return out.split("Value: ", 1)[1].rstrip("\n") if "Value: " in out else None


def test_hostile_texts_through_the_module(world):
    """The hostile status texts of the FastAGI suite, through the module: the
    dialplan reads back exactly the safe rendering, in IM-STATUSTEXT and in
    IM_STATUS(), and nothing in them is evaluated."""
    a, d, b = world
    for i, text in enumerate(HOSTILE):
        marker = f"{i:02d}|"
        want = safe_rendering(marker + text)
        b.presence(status=marker + text)
        d.wait_status("aim1/buckaroo", status="online", text=want)
        # The module's mirror has it too (the watch stream may trail imctl).
        wait_for(lambda: marker in a.rx("dialplan eval function IM_STATUS(aim1/buckaroo,statustext)"),
                 10, what="the mirror")
        a.rx(f"dialplan set global SEQ {i}")
        a.rx("channel originate Local/s@hostile application Wait 1")
        wait_for(lambda: db_get(a, "seq") == str(i) and db_get(a, "text") is not None
                 and db_get(a, "text").startswith(marker), 15, what=f"hostile text {i}")
        assert db_get(a, "text") == want.rstrip("\n"), repr(text)
        assert db_get(a, "func") == want.rstrip("\n"), repr(text)
    assert a.proc.poll() is None


def test_results_jumps_and_options(world):
    a, d, b = world
    r = Runner(a)
    assert probe(r, "aim1/nobody")["IM-RESULT"] == "NOTSUBSCRIBED"
    own = probe(r, "aim1/robot")
    assert (own["IM-STATUS"], own["IM-RESULT"]) == ("online", "OK")
    # NOPEER jumps to n+101 (the probe's priority 102).
    assert r.run("probe", "JUMPED", TARGET="nosuch/buckaroo") == ["NOPEER"]
    # g goes on at n+1 even on an error.
    v = probe(r, "nosuch/buckaroo", "g")
    assert v["IM-RESULT"] == "NOPEER"
    assert r.run("probe", "JUMPED", TARGET="bad") == ["BADARGS"]
    v = probe(r, "aim1/buckaroo", "W(500)")
    assert v["IM-RESULT"] == "OK"


def online(world, text):
    """The buddy online with @text, as the daemon and the module see it."""
    a, d, b = world
    b.presence(status=text)
    d.wait_status("aim1/buckaroo", status="online", text=text)
    r = Runner(a)
    wait_for(lambda: probe(r, opts="g")["IM-STATUSTEXT"] == text, 10, what="online in the module")
    return r


def test_seed_dialplan_and_imsend_with_commas(world):
    a, d, b = world
    r = online(world, "at my desk")
    a.rx("channel originate Local/1233@seed application Wait 1")
    wait_for(lambda: "RESULT|desk-with-message|SENT" in a.output(), 20, what="the seed's path")
    b.wait_message(lambda m: m[1].startswith("ACME Corp is calling. They do 2M"))
    assert r.run("sender", "SENT") == ["SENT", "OK"]
    b.wait_message(lambda m: m[1] == "Hello, world / slashes and, commas")


def test_cli_in_the_seed_columns(world):
    a, d, b = world
    peers = a.rx("im show peers")
    assert re.search(r"Name\s+Type\s+Host\s+Port\s+User\s+Status", peers)
    assert re.search(r"aim1\s+jabber\s+127\.0\.0\.1\s+\d+\s+robot@" + DOMAIN + r"\s+Registered",
                     peers)
    sub = a.rx("im show subscribed aim1")
    assert re.search(r"Name\s+Status\s+Idle\s+Lastseen", sub) and "buckaroo" in sub
    assert "debug intense" in a.rx("im debug intense")
    assert "debug off" in a.rx("im debug off")
    assert "reloaded" in a.rx("im reload")
    # Tab completion of peer names.
    assert "aim1" in a.rx('_command matchesarray "im show subscribed " ""')


def test_daemon_restart_under_a_loaded_module(world):
    a, d, b = world
    r = online(world, "here")
    d.proc.send_signal(signal.SIGKILL)  # killed, not stopped: no goodbye on the socket
    d.proc.wait(10)
    # (g: the probe's n+101 would take the error path)
    wait_for(lambda: probe(r, opts="g")["IM-RESULT"] == "NOTCONNECTED", 15, what="NOTCONNECTED")
    v = probe(r, opts="g")
    assert v["IM-STATUS"] == "unknown"
    assert r.run("probe", "JUMPED", TARGET="aim1/buckaroo") == ["NOTCONNECTED"]
    d.start()
    wait_for(lambda: probe(r, opts="g")["IM-STATUS"] == "online", 40,
             what="the module back in sync")


def test_same_answers_as_the_daemon_and_removed_peers(world, prosody, robot):
    # The module and the daemon share one vocabulary: for a buddy nobody
    # watches on a peer that is down both say NOTCONNECTED (the module said
    # NOTSUBSCRIBED), and a peer that leaves the configuration takes its
    # buddies' lamps along (they stayed lit as last seen).
    a, d, b = world
    r = online(world, "here")
    closed = free_port()
    down = peer_conf("down", f"ghost@{DOMAIN}", "pw", prosody).replace(
        f"port = {prosody.port}", f"port = {closed}")
    d.write_conf(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]) + down)
    assert d.imctl("reload").stdout.strip() == "reloaded"
    wait_for(lambda: "down" in a.rx("im show peers"), 20, what="the new peer in the module")
    assert d.status("down/nobody")["result"] == "NOTCONNECTED"
    assert probe(r, target="down/nobody", opts="g")["IM-RESULT"] == "NOTCONNECTED"
    assert probe(r, target="aim1/BuckAroo", opts="g")["IM-STATUSTEXT"] == "here"
    assert probe(r, target="AIM1/buckaroo", opts="g")["IM-RESULT"] == "NOPEER"
    assert r.run("lamp", "LAMP") == ["NOT_INUSE", "available"]
    assert re.search(r"6001@lamps.*Presence:available", a.rx("core show hints"))
    d.write_conf(down)
    assert d.imctl("reload").stdout.strip() == "reloaded"
    wait_for(lambda: probe(r, opts="g")["IM-RESULT"] == "NOPEER", 15, what="aim1 gone")
    assert r.run("lamp", "LAMP") == ["UNKNOWN", "not_set"]
    # The hint follows (Asterisk's cache): it said available until now.
    wait_for(lambda: re.search(r"6001@lamps.*Presence:not_set", a.rx("core show hints")), 10,
             what="the hint's presence not_set")


def test_core_show_application_documentation(world):
    a, d, b = world
    app = a.rx("core show application IMStatus")
    assert "Ask imstatusd whether an instant-messaging buddy is online" in app, app
    assert "IM-STATUSPREFIX" in app and "n+101" in app
    assert "Send an instant message through imstatusd" in a.rx("core show application IMSend")
    assert "The IM presence of a buddy" in a.rx("core show function IM_STATUS")


def test_module_unload_and_load(world):
    a, d, b = world
    assert "Unloaded app_imstatus.so" in a.rx("module unload app_imstatus.so") or \
        "app_imstatus" not in a.rx("module show like imstatus")
    assert "IMStatus" not in a.rx("core show applications like IMStatus")
    a.rx("module load app_imstatus.so")
    wait_for(lambda: "aim1" in a.rx("im show peers"), 20, what="the module back")
    assert "IMStatus" in a.rx("core show application IMStatus")
    assert a.proc.poll() is None


def test_unload_with_a_call_inside_imstatus(tmp_path, prosody, robot, daemon):
    """A call waits inside IMStatus(…,W(x)) (its peer never logs in) while
    the module is unloaded: Asterisk keeps the module until the call is done,
    nothing crashes, and it unloads cleanly after."""
    binary = real_asterisk.require_asterisk()
    if not os.path.exists(MODULE):
        pytest.skip("app_imstatus.so not built (no Asterisk headers at build time)")
    from harness import free_port
    dead = free_port()  # nothing listens: aim2 stays Connecting
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody)
               + f"[aim2]\ntype = jabber\nusername = x@{DOMAIN}\nsecret = x\nhost = 127.0.0.1\n"
                 f"port = {dead}\ncafile = {prosody.ca_pem}\nsubscribe = y\n")
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, extra_modules=[MODULE],
                               extensions="[slow]\nexten => s,1,IMStatus(aim2/y,W(4000))\n"
                                          " same => n,NoOp(WAITED|${IM-RESULT})\n",
                               etc_files={"imstatus.conf": f"[general]\ncontrolsocket = {d.socket}\ndaemonuser = root\n"})
    a.start()
    try:
        wait_for(lambda: "aim2" in a.rx("im show peers"), 20, what="the module")
        a.rx("channel originate Local/s@slow application Wait 1")
        wait_for(lambda: "IMStatus" in a.rx("core show channels verbose"), 10,
                 what="the call inside IMStatus")
        out = a.rx("module unload app_imstatus.so")
        assert a.proc.poll() is None
        wait_for(lambda: "WAITED|" in a.output(), 15, what="the call to go on")
        assert "WAITED|TIMEOUT" in a.output(), out
        wait_for(lambda: "app_imstatus" not in a.rx("module show like imstatus")
                 or "Unloaded" in a.rx("module unload app_imstatus.so"), 15,
                 what="the module unloaded once the call is gone")
        assert a.proc.poll() is None
        assert "IMStatus" not in a.rx("core show applications like IMStatus")
    finally:
        a.stop()


def test_imsend_peer_and_user_cannot_start_a_command(world):
    # IMSend put peer and user on the control line as they were: a newline
    # in a dialplan variable started a second command (here: debug intense).
    a, d, b = world
    r = Runner(a)
    assert r.run("inject", "INJECT") == ["FAILED", "BADARGS"]
    assert "debug intense" not in d.read_log()


def test_module_uses_only_the_daemons_own_socket(tmp_path, prosody, robot, daemon):
    """The module reads imstatus.conf, never im.conf (every secret), and
    talks only to a socket owned by daemonuser: another user's socket at that
    path would be told every IMSend."""
    binary = real_asterisk.require_asterisk()
    if not os.path.exists(MODULE):
        pytest.skip("app_imstatus.so not built (no Asterisk headers at build time)")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody))
    d.wait_peer("aim1", "Registered")
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, extra_modules=[MODULE],
                               etc_files={"imstatus.conf": f"[general]\ncontrolsocket = {d.socket}\n"
                                                           "daemonuser = nobody\n"})
    a.start()
    try:
        wait_for(lambda: "not the daemon's user" in a.output(), 15, what="the owner refused")
        assert "aim1" not in a.rx("im show peers")
    finally:
        a.stop()


def test_imsend_does_not_hang_on_a_stuck_daemon(tmp_path):
    """A daemon whose socket accepts nothing (its listen queue full): the
    module's blocking connect() held the channel thread inside IMSend; now
    it answers NOTCONNECTED at once."""
    binary = real_asterisk.require_asterisk()
    if not os.path.exists(MODULE):
        pytest.skip("app_imstatus.so not built (no Asterisk headers at build time)")
    import socket
    path = str(tmp_path / "stuck.sock")
    stuck = socket.socket(socket.AF_UNIX)
    stuck.bind(path)
    stuck.listen(0)
    fillers = []
    for _ in range(4):  # fill the queue: later connects would block
        c = socket.socket(socket.AF_UNIX)
        c.setblocking(False)
        try:
            c.connect(path)
        except (BlockingIOError, InterruptedError):
            pass
        fillers.append(c)
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, extra_modules=[MODULE],
                               extensions="[sender]\nexten => s,1,IMSend(aim1/buckaroo/hello)\n"
                                          " same => n,NoOp(SENT|${IM-SENDSTATUS}|${IM-RESULT})\n",
                               etc_files={"imstatus.conf": f"[general]\ncontrolsocket = {path}\ndaemonuser = root\n"})
    a.start()
    try:
        a.rx("channel originate Local/s@sender application Wait 1")
        wait_for(lambda: "SENT|" in a.output(), 10, what="IMSend to give up on the stuck socket")
        assert "SENT|FAILED|NOTCONNECTED" in a.output()
    finally:
        a.stop()
        for c in fillers:
            c.close()
        stuck.close()


@pytest.mark.parametrize("live", [False, True], ids=["owaim-fake", "owaim-live"])
def test_seed_on_aim(live, tmp_path, daemon):
    """The issue's "done when": the seed's own peer (type=aim, the seed's
    username and statusmessage) and dialplan (IMStatus(aim1/buckaroo),
    IMSend) against an AIM server, unchanged except host and port."""
    import oscar
    import revival
    binary = real_asterisk.require_asterisk()
    if not os.path.exists(MODULE):
        pytest.skip("app_imstatus.so not built (no Asterisk headers at build time)")
    server = None
    if live:
        port = revival.ports()["AIM_AUTH_PORT"]
        robot, buddy = revival.SEED_ROBOT, revival.SEED_BUDDY
    else:
        server = oscar.FakeOscar()
        port = server.auth_port
        robot, buddy = ("pinkys-asterisk", "pinky-pw"), ("buckaroo", "buck-pw")
        for sn, pw in (robot, buddy):
            server.add_user(sn, pw)
    b = oscar.OscarClient("127.0.0.1", port, *buddy)
    try:
        d = daemon(f"[aim1]\nusername={robot[0]}\nsecret={robot[1]}\ntype=aim\n"
                   'statusmessage="Pinky Caruthers Phone Presense Robot - no inbound, please."\n'
                   f"activewhen=always\nsubscribe=buckaroo\nport={port}\nhost=127.0.0.1\n")
        d.wait_status("aim1/buckaroo", status="online")
        a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, extensions=SEED,
                                   extra_modules=[MODULE], extra_docs=[DOCS],
                                   etc_files={"imstatus.conf": f"[general]\ncontrolsocket = {d.socket}\ndaemonuser = root\n"})
        a.start()
        try:
            wait_for(lambda: re.search(r"aim1\s+aim\s+127\.0\.0\.1\s+\d+\s+pinkys-asterisk\s+Registered",
                                       a.rx("im show peers")), 20, what="the seed's im show peers")
            b.set_away("mobile: on the road")
            d.wait_status("aim1/buckaroo", status="away")
            r = Runner(a)
            wait_for(lambda: probe(r, opts="g")["IM-STATUS"] == "away", 10, what="away in the module")
            a.rx("channel originate Local/1233@seed application Wait 1")
            wait_for(lambda: "RESULT|voicemail|away" in a.output(), 20, what="the seed's away path")
            b.set_away("")
            wait_for(lambda: probe(r, opts="g")["IM-STATUS"] == "online", 10, what="online again")
            a.rx("channel originate Local/1233@seed application Wait 1")
            wait_for(lambda: "RESULT|desk-with-message|SENT" in a.output(), 20,
                     what="the seed's desk path")
            sender, text = b.wait_im()
            assert sender == "pinkys-asterisk"
            assert text.startswith("ACME Corp is calling. They do 2M")
            assert re.search(r"buckaroo\s+online", a.rx("im show subscribed aim1"))
        finally:
            a.stop()
    finally:
        b.close()
        if server:
            server.close()
