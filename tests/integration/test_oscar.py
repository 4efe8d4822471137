"""The native AIM driver (type=aim) end to end: imstatusd against the
OWAIM-faithful fake in oscar.py, with OscarClient buddies; the cases marked
live run again against a real OWAIM when IMS_REVIVAL is set (revival.py)."""
import html
import socket

import pytest

import ami
import asterisk
import oscar
import revival
from harness import wait_for
from test_agi import HOSTILE, VARS, assert_only_setvars, imstatus, safe_rendering
from test_board import WEB_HOSTILE


class FakeWorld:
    live = False

    def __init__(self):
        self.server = oscar.FakeOscar()
        self.robot = ("pinkys", "pinkys-pw")
        self.buddy = ("buckaroo", "buck-pw")
        for sn, pw in (self.robot, self.buddy):
            self.server.add_user(sn, pw)

    @property
    def port(self):
        return self.server.auth_port

    def logins(self):
        return sum(1 for (_sn, f, s) in self.server.received if (f, s) == (0x01, 0x02))

    def close(self):
        self.server.close()


class LiveWorld:
    live = True

    def __init__(self):
        self.port = revival.ports()["AIM_AUTH_PORT"]
        self.robot, self.buddy = revival.ROBOT, revival.BUDDY

    def close(self):
        pass


@pytest.fixture(params=["fake", "live"])
def aim(request):
    w = FakeWorld() if request.param == "fake" else LiveWorld()
    yield w
    w.close()


def fake_only(aim, why):
    if aim.live:
        pytest.skip(f"fake only: {why}")


def aim_conf(aim, password=None, subscribe=None, extra=""):
    # The seed's peer, with host and port for the local server.
    return (f"[aim1]\ntype=aim\nusername={aim.robot[0]}\nsecret={password or aim.robot[1]}\n"
            f"host=127.0.0.1\nport={aim.port}\nsubscribe={subscribe or aim.buddy[0]}\n"
            'statusmessage="Pinky Caruthers Phone Presense Robot - no inbound, please."\n'
            + extra)


@pytest.fixture
def buddy(aim):
    made = []

    def make(**kw):
        b = oscar.OscarClient("127.0.0.1", aim.port, *aim.buddy, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def test_seed_peer_registers_and_sees_the_buddy(aim, buddy, daemon):
    d = daemon(aim_conf(aim))
    d.wait_peer("aim1", "Registered")
    assert "aim1  aim " in d.imctl("show", "peers").stdout
    b = buddy()
    s = d.wait_status(f"aim1/{aim.buddy[0]}", status="online")
    assert s["show"] == "available" and s["result"] == "OK"
    b.set_away("mobile: <b>call my cell</b> &amp; sip:12156667777@pbx.example.org")
    s = d.wait_status(f"aim1/{aim.buddy[0]}", status="away",
                      text="mobile: call my cell & sip:12156667777@pbx.example.org")
    assert s["show"] == "away" and s["prefix"] == "mobile"
    assert s["uri"] == "sip:12156667777@pbx.example.org"
    a = imstatus(d, f"aim1/{aim.buddy[0]}")
    assert_only_setvars(a, VARS)
    assert a.vars["IM-STATUS"] == "away" and a.vars["IM-SHOW"] == "away"
    b.set_away("")
    d.wait_status(f"aim1/{aim.buddy[0]}", status="online", text="")
    b.close()
    s = d.wait_status(f"aim1/{aim.buddy[0]}", status="offline")
    assert s["lastseen"] >= 0
    # The seed: IMStatus of the peer's own name says whether it is logged in.
    assert imstatus(d, f"aim1/{aim.robot[0]}").vars["IM-STATUS"] == "online"


def test_buddy_added_to_the_server_list(aim, buddy, daemon):
    fake_only(aim, "a fresh server-side list needs a fresh account")
    b = buddy()
    d = daemon(aim_conf(aim))
    d.wait_status("aim1/buckaroo", status="online", subscription="both")
    fb = aim.server.feedbags["pinkys"]
    assert ("buckaroo", 0) in fb.values()
    # Subscribed once: a restart does not add it again.
    d.stop()
    d.start()
    d.wait_status("aim1/buckaroo", status="online")
    assert sum(1 for v in aim.server.feedbags["pinkys"].values() if v == ("buckaroo", 0)) == 1
    b.close()


def test_wrong_password_fails_without_hammering(aim, daemon):
    d = daemon(aim_conf(aim, password="wrong-password"))
    p = d.wait_peer("aim1", "Failed")
    assert "wrong password" in p["reason"]
    assert "Failed: wrong password" in d.imctl("show", "peers").stdout
    assert "wrong-password" not in d.read_log() + d.imctl("show", "peers").stdout
    assert d.read_log().count("aim1: logging in as") == 1
    assert d.status("aim1/" + aim.buddy[0])["result"] == "NOTCONNECTED"


def test_unknown_screen_name_fails(aim, daemon):
    fake_only(aim, "OWAIM exits on an unknown screen name (Util.Int16ToBytes is not a function)")
    d = daemon(aim_conf(aim).replace("username=pinkys", "username=nosuchrobot"))
    p = d.wait_peer("aim1", "Failed")
    assert "does not exist" in p["reason"]


def test_ims_both_ways(aim, buddy, daemon, fake_ami):
    b = buddy()
    d = daemon(aim_conf(aim), general_extra=ami.general_keys(fake_ami))
    d.wait_status(f"aim1/{aim.buddy[0]}", status="online")
    d.imctl("send", f"aim1/{aim.buddy[0]}", "Voicemail from 2125551212 <urgent> & more ☎")
    sender, text = b.wait_im()
    assert sender == aim.robot[0]
    assert html.unescape(text) == "Voicemail from 2125551212 <urgent> & more ☎"
    b.send_im(aim.robot[0], "<HTML><BODY>call <b>me</b>\nnow &amp; then</BODY></HTML>")
    wait_for(lambda: fake_ami.user_events, 10, what="a UserEvent")
    ev = fake_ami.user_events[0]
    assert ami.get(ev, "From") == aim.buddy[0]
    assert ami.get(ev, "Body") == "call me\\nnow & then"


def test_phone_busy_is_the_away_message(aim, buddy, daemon, fake_ami):
    d = daemon(aim_conf(aim, extra="phone = PJSIP/desk\nbusymessage = busy/sip:12156667777@pbx\n"),
               general_extra=ami.general_keys(fake_ami))
    d.wait_peer("aim1", "Registered")
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    b = buddy(feedbag=[aim.robot[0]])
    robot = aim.robot[0]
    fake_ami.set_device("PJSIP/desk", "INUSE")
    wait_for(lambda: b.away_text(robot) == "busy/sip:12156667777@pbx", 10,
             what="the robot's away message")
    fake_ami.set_device("PJSIP/desk", "NOT_INUSE")
    wait_for(lambda: b.away_text(robot) is None, 10, what="the away message cleared")


def test_server_drop_and_restart(aim, buddy, daemon):
    fake_only(aim, "the test stops and restarts the server")
    b = buddy()
    d = daemon(aim_conf(aim))
    d.wait_status("aim1/buckaroo", status="online")
    auth, bos = aim.server.auth_port, aim.server.bos_port
    aim.server.close()
    d.wait_peer("aim1", "Connecting")
    s = d.status("aim1/buckaroo")
    assert s["status"] == "unknown" and s["result"] == "NOTCONNECTED"
    aim.server = oscar.FakeOscar(auth_port=auth, bos_port=bos)
    for sn, pw in (aim.robot, aim.buddy):
        aim.server.add_user(sn, pw)
    b2 = oscar.OscarClient("127.0.0.1", auth, *aim.buddy)
    try:
        d.wait_peer("aim1", "Registered", timeout=60)
        d.wait_status("aim1/buckaroo", status="online", timeout=15)
    finally:
        b2.close()
    b.close()


def test_hostile_away_texts_reach_the_dialplan_safely(aim, buddy, daemon):
    b = buddy()
    d = daemon(aim_conf(aim))
    who = f"aim1/{aim.buddy[0]}"
    d.wait_status(who, status="online")
    texts = HOSTILE + WEB_HOSTILE
    assert len(texts) == 61
    for i, text in enumerate(texts):
        marker = f"{i:02d}|"
        # An AIM client sends HTML: what the user typed, escaped.
        b.set_away(html.escape(marker + text, quote=False))
        want = safe_rendering(marker + text, xml=False)
        d.wait_status(who, status="away", text=want)
        s = imstatus(d, who)
        assert_only_setvars(s, VARS)
        assert s.vars["IM-STATUSTEXT"] == want, repr(text)
        assert all(len(c) < asterisk.MAX_COMMAND for c in s.commands)


def test_garbage_from_the_server_is_a_clear_error(daemon):
    """A server that is not OSCAR: the peer says so and retries later."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    d = daemon(f"[aim1]\ntype=aim\nusername=pinkys\nsecret=x\nhost=127.0.0.1\nport={port}\n",
               wait=True)
    c, _ = srv.accept()
    c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    wait_for(lambda: "not an OSCAR server" in d.read_log(), 10, what="the framing error")
    assert d.peer("aim1")["status"] in ("Connecting", "Unregistered")
    c.close()
    srv.close()
