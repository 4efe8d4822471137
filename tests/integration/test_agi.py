"""The dialplan contract: IMStatus and IMSend over FastAGI, driven by the
faithful Asterisk peer (asterisk.py) against a real Prosody and slixmpp buddies."""
import datetime
import socket
import threading
import time

import pytest

import asterisk
from harness import DOMAIN, Gate, peer_conf, wait_for

VARS = ["IM-STATUS", "IM-IDLETIME", "IM-STATUSTEXT", "IM-LASTSEEN", "IM-STATUSPREFIX",
        "IM-STATUSURI", "IM-RESOURCE", "IM-SHOW", "IM-RESULT"]


def imstatus(d, target, options=None, **kw):
    data = f"agi://127.0.0.1/IMStatus,{target}" + (f",{options}" if options is not None else "")
    s = asterisk.agi(d.agi_port, data, **kw)
    assert not s.pipelined, "the server pipelined commands"
    return s


def assert_only_setvars(s, names):
    """Exactly one SET VARIABLE per name, each a single 4-word command."""
    assert [asterisk.split_words(c)[2].decode() for c in s.commands] == names
    for c in s.commands:
        w = asterisk.split_words(c)
        assert len(w) == 4 and w[0] == b"SET" and w[1] == b"VARIABLE", c


@pytest.fixture
def world(prosody, robot, buddies, daemon):
    prosody.register("turtlehead", "turtle-pw")
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody,
                         subscribe=["buckaroo", "turtlehead"]))
    d.wait_peer("aim1", "Registered")
    d.wait_status("aim1/buckaroo", subscription="both")
    return d, b


def iso_ago(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


KINDS = [
    # presence kwargs, IM-STATUS, idle range, IM-SHOW (XMPP's own word)
    (dict(status="work: at my desk"), "online", (0, 0), "available"),
    (dict(show="chat", status="chatty"), "online", (0, 0), "chat"),
    (dict(show="away", status="mobile: sip:12156667777@pbx.example.org"), "away", (0, 0), "away"),
    (dict(show="xa", status="home: gone"), "away", (0, 0), "xa"),
    (dict(show="dnd", status="busy/tel:+12155550100"), "busy", (0, 0), "dnd"),
    (dict(status="reading", idle_since=300), "idle", (299, 300), "available"),  # seconds ago
    (dict(status="reading", idle_seconds=140), "idle", (139, 140), "available"),
]


@pytest.mark.parametrize("presence,word,idle,show", KINDS,
                         ids=[k[1] + str(i) for i, k in enumerate(KINDS)])
def test_imstatus_every_variable(world, presence, word, idle, show):
    d, b = world
    t0 = time.time()
    if "idle_since" in presence:
        presence = dict(presence, idle_since=iso_ago(presence["idle_since"]))
    b.presence(**presence)
    d.wait_status("aim1/buckaroo", status=word, text=presence["status"])
    s = imstatus(d, "aim1/buckaroo")
    if idle[1]:
        # The idle time grows while the test runs: allow for exactly that.
        idle = (idle[0], idle[0] + 1 + int(time.time() - t0) + 1)
    assert s.status == "SUCCESS" and s.next_priority == 2
    assert_only_setvars(s, VARS)
    v = s.vars
    assert v["IM-STATUS"] == word
    assert idle[0] <= int(v["IM-IDLETIME"]) <= idle[1]
    assert v["IM-STATUSTEXT"] == presence["status"]
    assert v["IM-LASTSEEN"] == "0"
    text = presence["status"]
    assert v["IM-STATUSPREFIX"] == (text.split(":")[0] if text.split(":")[0] in
                                    ("work", "mobile", "home") else "")
    uri = next((w for w in text.replace("/", " ").split() if w.startswith(("sip:", "tel:"))), "")
    assert v["IM-STATUSURI"] == uri
    assert v["IM-RESOURCE"] == "phone"
    assert v["IM-SHOW"] == show
    assert v["IM-RESULT"] == "OK"


def test_imstatus_offline_pending_notsubscribed_own(world, robot):
    d, b = world
    b.unavailable()
    d.wait_status("aim1/buckaroo", status="offline")
    v = imstatus(d, "aim1/buckaroo").vars
    assert (v["IM-STATUS"], v["IM-RESULT"], v["IM-LASTSEEN"]) == ("offline", "OK", "0")
    v = imstatus(d, "aim1/turtlehead").vars
    assert (v["IM-STATUS"], v["IM-RESULT"]) == ("unknown", "PENDING")
    v = imstatus(d, "aim1/misspiggy20").vars
    assert (v["IM-STATUS"], v["IM-RESULT"]) == ("unknown", "NOTSUBSCRIBED")
    v = imstatus(d, "aim1/" + robot[0].split("@")[0]).vars
    assert (v["IM-STATUS"], v["IM-RESULT"]) == ("online", "OK")
    # The script name is case-insensitive.
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/imstatus,aim1/misspiggy20")
    assert s.vars["IM-RESULT"] == "NOTSUBSCRIBED"


def dialplan_with_102():
    return asterisk.Dialplan().add("captest", "1233", 1).add("captest", "1233", 2) \
        .add("captest", "1233", 102)


def test_error_jumps_to_n_plus_101_when_it_exists(world):
    d, _ = world
    chan = asterisk.Channel(dialplan=dialplan_with_102())
    s = imstatus(d, "nosuch/buckaroo", channel=chan)
    assert s.vars["IM-RESULT"] == "NOPEER"
    assert s.next_priority == 102
    assert s.commands[-2].startswith(b"GET FULL VARIABLE ${DIALPLAN_EXISTS(captest,1233,102)}")
    assert s.commands[-1] == b"SET PRIORITY 102"


def test_error_goes_on_when_n_plus_101_is_missing(world):
    d, _ = world
    chan = asterisk.Channel(dialplan=asterisk.Dialplan().add("captest", "1233", 1))
    s = imstatus(d, "nosuch/buckaroo", channel=chan)
    assert s.vars["IM-RESULT"] == "NOPEER"
    assert s.next_priority == 2
    assert not any(c.startswith(b"SET PRIORITY") for c in s.commands)


def test_option_g_always_goes_on(world):
    d, _ = world
    s = imstatus(d, "nosuch/buckaroo", "g", channel=asterisk.Channel(dialplan=dialplan_with_102()))
    assert s.vars["IM-RESULT"] == "NOPEER" and s.next_priority == 2
    assert_only_setvars(s, VARS)


def test_badargs(world):
    d, _ = world
    chan = asterisk.Channel(dialplan=dialplan_with_102())
    for data in ("agi://127.0.0.1/IMStatus,buckaroo", "agi://127.0.0.1/IMStatus,aim1/b,Q",
                 "agi://127.0.0.1/IMStatus?peer=aim1", "agi://127.0.0.1/IMStatus,aim1/b,W(x)"):
        s = asterisk.agi(d.agi_port, data, channel=asterisk.Channel(dialplan=dialplan_with_102()))
        assert s.vars["IM-RESULT"] == "BADARGS", data
        assert s.next_priority == 102, data
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/NoSuchScript,x", channel=chan)
    assert s.vars == {"IM-RESULT": "BADARGS"} and s.next_priority == 2
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1")
    assert s.vars == {"IM-RESULT": "BADARGS"}
    assert "unknown script 'NoSuchScript'" in d.read_log()


def test_wait_while_logging_in(prosody, robot, buddies, daemon):
    """W(x) waits for a peer that is still logging in; without it, or when x
    runs out, the answer says so."""
    b = buddies("buckaroo")
    gate = Gate(prosody.port)
    try:
        conf = peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"])
        d = daemon(conf.replace(f"port = {prosody.port}", f"port = {gate.port}"))
        assert d.peer("aim1")["status"] == "Connecting"
        v = imstatus(d, "aim1/buckaroo", "g").vars
        assert (v["IM-STATUS"], v["IM-RESULT"]) == ("unknown", "NOTCONNECTED")
        t0 = time.monotonic()
        v = imstatus(d, "aim1/buckaroo", "gW(500)").vars
        assert time.monotonic() - t0 >= 0.45
        assert (v["IM-STATUS"], v["IM-RESULT"]) == ("unknown", "TIMEOUT")

        result = {}
        t = threading.Thread(target=lambda: result.update(
            s=imstatus(d, "aim1/buckaroo", "W(20000)")))
        t.start()
        wait_for(lambda: d.read_log().count("IMStatus: waiting up to 20000 ms") == 1, 5,
                 what="the session to wait")
        assert t.is_alive()
        gate.open.set()  # let the login through while the session waits
        t.join(25)
        assert not t.is_alive()
        v = result["s"].vars
        assert v["IM-RESULT"] in ("OK", "PENDING")
        assert d.peer("aim1")["status"] == "Registered"
        if v["IM-RESULT"] == "OK":
            assert v["IM-STATUS"] == "online"
    finally:
        gate.close()


# At least 50 hostile status texts, each set by a real buddy.  XML carries
# no C0 controls but TAB, LF and CR (which arrives as LF); NUL and invalid
# UTF-8 cannot cross an XMPP server and are covered by the unit tests.
HOSTILE = [
    "line1\nline2", "a\r\nb", "\r\n", "a\rb", "tab\there", "\nSET VARIABLE IM-RESULT OK",
    "x\nHANGUP\n", '"', '""', 'say "hi"', '\\', '\\\\', 'end\\', '\\"', 'a\\"b"c',
    "${IM-STATUS}", "${SHELL(rm -rf /)}", "$[1+1]", "$[${X}]", "${", "$[", "}", "]",
    "a;b", ";", "\\;", "a,b", ",", "(p)", ")(", "x)y(z", "agi_arg_1: evil",
    "200 result=1", "510 Invalid", "%begin 0", "€ ☎ 日本語", "emoji 🎉", "\u2028sep\u2029",
    "c1\u0085next", "\u00a0nbsp", "  leading", "trailing  ", "mobile:\nsip:x@y",
    "sip:1;transport=tcp\ninjected", "tel:+1\"quote", "A" * 10240, "é" * 3000,
    "mixed \"\\${X}\\\" ;, \n end", "`backtick` $(cmd)", "<tag>&amp;</tag>", "&lt;&#13;",
]


def safe_rendering(text, xml=True):
    """The documented rendering: CR/CRLF arrive as LF (over XML), every
    control character becomes a space, cut to 1000 bytes at a character
    boundary."""
    if xml:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = ""
    for ch in text:
        o = ord(ch)
        if o < 0x20 or o == 0x7f or 0x80 <= o < 0xa0 or o in (0x2028, 0x2029):
            ch = " "
        if len((out + ch).encode()) > 1000:
            break
        out += ch
    return out


def test_hostile_status_texts(world):
    d, b = world
    assert len(HOSTILE) >= 50
    for i, text in enumerate(HOSTILE):
        marker = f"{i:02d}|"
        b.presence(status=marker + text)
        d.wait_status("aim1/buckaroo", status="online",
                      text=safe_rendering(marker + text))
        s = imstatus(d, "aim1/buckaroo")
        assert_only_setvars(s, VARS)
        assert s.vars["IM-STATUSTEXT"] == safe_rendering(marker + text), repr(text)
        assert s.vars["IM-RESULT"] == "OK"
        assert all(len(c) < asterisk.MAX_COMMAND for c in s.commands)


def test_imsend_keeps_slashes_commas_quotes_unicode(world, buddies):
    d, b = world
    s = asterisk.agi(d.agi_port,
                     'agi://127.0.0.1/IMSend,aim1/buckaroo/Hello\\, world / slashes \\"q\\" ☎ €')
    assert s.vars == {"IM-SENDSTATUS": "SENT", "IM-RESULT": "OK"}
    assert s.next_priority == 2
    b.wait_message(lambda m: m[1] == 'Hello, world / slashes "q" ☎ €')
    # Unescaped commas split AGI() arguments; IMSend joins them back.
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,aim1/buckaroo/one,two,,three")
    assert s.vars["IM-SENDSTATUS"] == "SENT"
    b.wait_message(lambda m: m[1] == "one,two,,three")
    # To a user the peer does not subscribe to: refused (sendallow defaults
    # to the subscribe list; FastAGI is open to every local user).
    j = buddies("janedoe")
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,aim1/janedoe/not subscribed")
    assert s.vars == {"IM-SENDSTATUS": "FAILED", "IM-RESULT": "NOTSUBSCRIBED"}
    assert "IMSend to janedoe@" + DOMAIN + " refused: not in sendallow" in d.read_log()


def test_imsend_sendallow_widens(prosody, robot, buddies, daemon):
    b = buddies("buckaroo")
    j = buddies("janedoe")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"],
                         extra=f"sendallow = *@{DOMAIN}"))
    d.wait_peer("aim1", "Registered")
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,aim1/janedoe/pattern allowed")
    assert s.vars["IM-SENDSTATUS"] == "SENT"
    frm, _ = j.wait_message(lambda m: m[1] == "pattern allowed")
    assert frm.startswith(f"robot@{DOMAIN}")
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,aim1/mallory@evil.example/no")
    assert s.vars == {"IM-SENDSTATUS": "FAILED", "IM-RESULT": "NOTSUBSCRIBED"}
    # buckaroo matches the pattern too.
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,aim1/buckaroo/still")
    assert s.vars["IM-SENDSTATUS"] == "SENT"


def test_imsend_errors(world):
    d, _ = world
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,nosuch/buckaroo/hi",
                     channel=asterisk.Channel(dialplan=dialplan_with_102()))
    assert s.vars == {"IM-SENDSTATUS": "FAILED", "IM-RESULT": "NOPEER"}
    assert s.next_priority == 2  # IMSend never jumps
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,aim1/buckaroo")
    assert s.vars == {"IM-RESULT": "BADARGS", "IM-SENDSTATUS": "FAILED"}
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,aim1/buckaroo/" + "x" * 8001)
    assert s.vars["IM-SENDSTATUS"] == "FAILED" and s.vars["IM-RESULT"] == "BADARGS"


def test_hangup_in_the_middle(world):
    d, _ = world
    # The channel hangs up after the 2nd command: Asterisk still takes SET
    # VARIABLE (dead mode), refuses SET PRIORITY with 511; the server copes.
    s = imstatus(d, "nosuch/buckaroo", hangup_after=2,
                 channel=asterisk.Channel(dialplan=dialplan_with_102()))
    assert s.status == "HANGUP"
    assert s.vars["IM-RESULT"] == "NOPEER"
    assert s.commands[-1] == b"SET PRIORITY 102"
    assert b"511 " in s.wire_out


def test_malformed_sessions_do_not_disturb_others(world):
    d, _ = world
    bad = []
    for payload in (b"garbage without colon\n", b"agi_x: 1\nagi_x: 2\n", b"A" * 9000 + b"\n",
                    b"agi_network: yes\n\x00\n", b"agi_arg_2: skipped\n"):
        c = socket.create_connection(("127.0.0.1", d.agi_port), timeout=5)
        c.sendall(payload)
        bad.append(c)
    for c in bad:
        c.settimeout(5)
        assert c.recv(100) == b""  # closed by the server, nothing sent
        c.close()
    v = imstatus(d, "aim1/buckaroo").vars
    assert v["IM-RESULT"] == "OK"
    assert d.peer("aim1")["status"] == "Registered"


def test_agiallow_refuses_others(prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody), general_extra="agiallow = 10.9.9.0/24")
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,aim1/buckaroo")
    assert s.vars == {} and s.commands == []
    assert "refused a connection from 127.0.0.1 (not in agiallow)" in d.read_log()


def test_200_concurrent_sessions_and_20_silent_clients(world):
    d, b = world
    b.presence(status="here")
    d.wait_status("aim1/buckaroo", text="here")
    silent = [socket.create_connection(("127.0.0.1", d.agi_port), timeout=5) for _ in range(20)]
    results, errors = [], []

    def one():
        try:
            results.append(imstatus(d, "aim1/buckaroo", timeout=30).vars)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert len(results) == 200
    assert all(r["IM-STATUSTEXT"] == "here" and r["IM-RESULT"] == "OK" for r in results)
    # The silent ones are still connected (agitimeout is 10 s): nobody waited for them.
    for c in silent:
        c.setblocking(False)
        with pytest.raises(BlockingIOError):
            c.recv(1)
        c.close()


def test_silent_client_dropped_after_timeout(prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody), general_extra="agitimeout = 1")
    c = socket.create_connection(("127.0.0.1", d.agi_port), timeout=10)
    c.settimeout(10)
    t0 = time.monotonic()
    assert c.recv(10) == b""
    assert 0.9 <= time.monotonic() - t0 < 9
    c.close()
    assert "no answer from Asterisk within 1 s" in d.read_log()


def test_agiallow_and_controltimeout_apply_on_reload(prosody, robot, daemon):
    # Both were copied at start and never updated: tightening agiallow and
    # reloading changed nothing and said nothing.
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody))
    assert imstatus(d, "aim1/buckaroo").vars["IM-RESULT"]  # answered: allowed
    d.write_conf(peer_conf("aim1", robot[0], robot[1], prosody),
                 general_extra="agiallow = 10.9.9.0/24\ncontroltimeout = 1")
    assert d.imctl("reload").stdout.strip() == "reloaded"
    assert "take effect at the next restart" not in d.read_log()
    s = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,aim1/buckaroo")
    assert s.vars == {} and s.commands == []
    assert "refused a connection from 127.0.0.1 (not in agiallow)" in d.read_log()
    # An idle control connection opened now is closed after 1 s, not 60.
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(d.socket)
        c.settimeout(10)  # the old 60 s would time out here
        got = b""
        while chunk := c.recv(4096):
            got += chunk
        assert got.startswith(b"%imstatus ")


def test_asterisk_gets_through_when_other_addresses_fill_fastagi(prosody, robot, daemon):
    # Every loopback address may connect (agiallow 127.0.0.0/8): 512 silent
    # sessions from each of two of them filled all 1,024 and Asterisk's own
    # connection was reset.  The longest-silent session now makes room.
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody), general_extra="agitimeout = 120")
    d.wait_peer("aim1", "Registered")
    held = []
    try:
        for src in ("127.0.0.2", "127.0.0.3"):
            for _ in range(512):
                held.append(socket.create_connection(("127.0.0.1", d.agi_port), timeout=5,
                                                     source_address=(src, 0)))
        # The 513th from one of them is refused at once (the per-address cap).
        extra = socket.create_connection(("127.0.0.1", d.agi_port), timeout=5,
                                         source_address=("127.0.0.2", 0))
        extra.settimeout(10)
        assert extra.recv(10) == b""
        extra.close()
        for _ in range(3):
            assert imstatus(d, "aim1/buckaroo").vars["IM-RESULT"] == "NOTSUBSCRIBED"
        assert d.read_log().count("dropping the longest silent ones") == 1
    finally:
        for s in held:
            s.close()
