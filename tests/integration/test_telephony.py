"""Two-way presence through AMI (the faithful fake in ami.py), with a real
Prosody and real slixmpp buddies: activewhen, the phone's state as IM status,
click-to-dial by Originate or call file, received IMs as UserEvents."""
import glob
import os
import time

import pytest

import ami
from harness import DOMAIN, peer_conf, wait_for

DIAL_KEYS = ("dialallow = boss@imstatus.test\ndialsecret = s3cret-dial\n"
             "dialfrom = PJSIP/jimmy\ndialcontext = imstatus-dial\n"
             "dialtargets = extensions, +1215*, sip:*@pbx.example.org")


@pytest.fixture
def phone_world(prosody, robot, buddies, daemon, fake_ami):
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"],
                         extra="phone = PJSIP/desk\n"
                               "statusmessage = avail/sip:12156667777@pbx.example.org\n"
                               "busymessage = busy/sip:12156667777@pbx.example.org"),
               general_extra=ami.general_keys(fake_ami))
    d.wait_status("aim1/buckaroo", subscription="both")
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    b.wait_presence(robot[0], lambda v: v[0] == "available" and v[2].startswith("avail/"))
    return d, b


def test_activewhen_follows_the_device(prosody, robot, buddies, daemon, fake_ami):
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"],
                         extra="activewhen = PJSIP/jimmy"),
               general_extra=ami.general_keys(fake_ami))
    p = d.wait_peer("aim1", "Unregistered")
    wait_for(lambda: d.peer("aim1")["reason"] == "activewhen PJSIP/jimmy is UNAVAILABLE", 10,
             what="the device state from DeviceStateList")
    assert "Unregistered: activewhen PJSIP/jimmy is UNAVAILABLE" in d.imctl("show", "peers").stdout
    assert d.status("aim1/buckaroo")["result"] == "NOTCONNECTED"
    fake_ami.set_device("PJSIP/jimmy", "NOT_INUSE")
    d.wait_peer("aim1", "Registered")
    b.wait_presence(robot[0], lambda v: v[0] == "available")
    fake_ami.set_device("PJSIP/jimmy", "INUSE")  # still registered: stays logged in
    fake_ami.set_device("PJSIP/jimmy", "UNAVAILABLE")
    d.wait_peer("aim1", "Unregistered")
    b.wait_presence(robot[0], lambda v: v[0] == "unavailable")
    assert d.read_log().count("aim1: logged in as") == 1


def test_phone_busy_and_back_seen_by_a_buddy(phone_world, fake_ami, robot):
    d, b = phone_world
    i0 = len(b.presence_log)
    t0 = time.monotonic()
    fake_ami.set_device("PJSIP/desk", "RINGING")
    b.wait_presence(robot[0], lambda v: v[1] == "dnd" and v[2] == "busy/sip:12156667777@pbx.example.org",
                    timeout=2)
    assert time.monotonic() - t0 <= 2
    fake_ami.set_device("PJSIP/desk", "INUSE")  # ringing -> in use: still busy, no flap
    fake_ami.set_device("PJSIP/desk", "ONHOLD")
    fake_ami.set_device("PJSIP/desk", "NOT_INUSE")
    b.wait_presence(robot[0], lambda v: v[1] == "" and v[2] == "avail/sip:12156667777@pbx.example.org",
                    timeout=2)
    # Exactly one busy and one available presence: the in-between states changed nothing.
    later = [p for p in b.presence_log[i0:] if p[0] == robot[0]]
    assert [p[2] for p in later] == ["dnd", ""], later


@pytest.fixture
def dial_world(prosody, robot, buddies, daemon, fake_ami, tmp_path):
    boss = buddies("boss")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["boss"], extra=DIAL_KEYS),
               general_extra=ami.general_keys(fake_ami))
    d.wait_status("aim1/boss", subscription="both")
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    return d, boss


def test_click_to_dial_allowed(dial_world, fake_ami, robot):
    d, boss = dial_world
    boss.send_message(robot[0], "dial s3cret-dial +12155550100")
    wait_for(lambda: fake_ami.originates, 10, what="an Originate")
    o = fake_ami.originates[0]
    assert ami.get(o, "Channel") == "PJSIP/jimmy"
    assert ami.get(o, "Context") == "imstatus-dial"
    assert ami.get(o, "Exten") == "+12155550100"
    assert ami.get(o, "Variable") == "IMSTATUS_DIAL=+12155550100"
    assert ami.get(o, "Async") == "true"
    boss.wait_message(lambda m: "connecting you to +12155550100" in m[1])
    # A SIP URI goes to extension "uri" with the URI in IMSTATUS_DIAL.
    fake_ami.originate_reason = lambda ch: "5"
    boss.send_message(robot[0], "DIAL s3cret-dial sip:1234@pbx.example.org")
    wait_for(lambda: len(fake_ami.originates) == 2, 10, what="a second Originate")
    assert ami.get(fake_ami.originates[1], "Exten") == "uri"
    assert ami.get(fake_ami.originates[1], "Variable") == "IMSTATUS_DIAL=sip:1234@pbx.example.org"
    boss.wait_message(lambda m: "did not go through: your phone is busy" in m[1])
    assert "s3cret-dial" not in d.read_log()


@pytest.mark.parametrize("body", [
    "dial wrong-secret 12155550100",
    "dial s3cret-dial 1301\r\nApplication: System",
    "dial s3cret-dial 1301;Application:System",
    "dial s3cret-dial 12 15",
    "dial s3cret-dial " + "1" * 1024,
    "dial s3cret-dial sip:a@b\"c",
    "dial s3cret-dial sip:x@y;transport=tcp",
    "dial s3cret-dial Local/1@default",
    "dial",
])
def test_click_to_dial_refused(dial_world, fake_ami, robot, body):
    d, boss = dial_world
    boss.send_message(robot[0], body)
    boss.wait_message(lambda m: m[1].startswith("Not accepted"))
    assert "refused click-to-dial from boss@imstatus.test" in d.read_log()
    assert fake_ami.originates == []
    assert "s3cret-dial" not in d.read_log()


def test_click_to_dial_unknown_sender_gets_nothing(dial_world, fake_ami, robot, buddies):
    d, boss = dial_world
    eve = buddies("eve")
    eve.send_message(robot[0], "dial s3cret-dial 12155550100")
    # A stranger's message never gets as far as click-to-dial.
    wait_for(lambda: "ignored a message from eve@imstatus.test" in d.read_log(),
             10, what="the refusal in the log")
    # The daemon answers boss's message after eve's: eve got nothing meanwhile.
    boss.send_message(robot[0], "dial wrong 1")
    boss.wait_message(lambda m: m[1].startswith("Not accepted"))
    assert eve.messages == [] and fake_ami.originates == []


def test_dial_targets_by_default_only_this_pbx(prosody, robot, buddies, daemon, fake_ami):
    # A buddy's premium-rate number or a URI on another domain was dialled:
    # without dialtargets only this PBX's own extensions are.
    boss = buddies("boss")
    keys = DIAL_KEYS.replace("\ndialtargets = extensions, +1215*, sip:*@pbx.example.org", "")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["boss"], extra=keys),
               general_extra=ami.general_keys(fake_ami))
    d.wait_status("aim1/boss", subscription="both")
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    for target in ("+19005550123", "19005550123", "sip:+19005550199@evil.example", "1234567"):
        boss.send_message(robot[0], f"dial s3cret-dial {target}")
        boss.wait_message(lambda m: "not a number this PBX may call" in m[1])
    assert fake_ami.originates == []
    boss.send_message(robot[0], "dial s3cret-dial 2001")
    wait_for(lambda: fake_ami.originates, 10, what="an Originate for an extension")
    assert ami.get(fake_ami.originates[0], "Exten") == "2001"


def test_click_to_dial_rate_limited(dial_world, fake_ami, robot):
    d, boss = dial_world
    for i in range(6):
        boss.send_message(robot[0], f"dial s3cret-dial 100{i}")
    wait_for(lambda: "more than 5 requests a minute" in d.read_log(), 10, what="the rate limit")
    wait_for(lambda: len(fake_ami.originates) == 5, 10, what="5 Originates")
    assert len(fake_ami.originates) == 5


def test_received_ims_become_user_events(dial_world, fake_ami, robot):
    d, boss = dial_world
    boss.send_message(robot[0], "hello\nsecond line \\ and ; and: colon")
    wait_for(lambda: fake_ami.user_events, 10, what="a UserEvent")
    ev = fake_ami.user_events[0]
    assert ami.get(ev, "UserEvent") == "IMReceived"
    assert ami.get(ev, "Peer") == "aim1"
    assert ami.get(ev, "From") == f"boss@{DOMAIN}"
    assert ami.get(ev, "Body") == "hello\\nsecond line \\\\ and ; and: colon"
    assert len(ev) == 6  # Action, UserEvent, Peer, From, Body, ActionID: nothing injected


def test_call_file_mode(prosody, robot, buddies, daemon, tmp_path):
    spool = tmp_path / "spool" / "outgoing"
    spool.mkdir(parents=True)
    boss = buddies("boss")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["boss"], extra=DIAL_KEYS),
               general_extra=f"spooldir = {spool}")
    d.wait_status("aim1/boss", subscription="both")
    boss.send_message(robot[0], "dial s3cret-dial sip:1234@pbx.example.org")
    boss.wait_message(lambda m: m[1].startswith("Calling your phone now"))
    files = glob.glob(str(spool / "*.call"))
    assert len(files) == 1
    assert os.listdir(tmp_path / "spool" / "tmp") == []  # written there, renamed in
    with open(files[0]) as f:
        text = f.read()
    fields, log = ami.read_callfile(text)
    assert log == []  # Asterisk would not complain about a single line
    assert fields["channel"] == ["PJSIP/jimmy"]
    assert fields["context"] == ["imstatus-dial"]
    assert fields["extension"] == ["uri"]
    assert fields["setvar"] == ["IMSTATUS_DIAL=sip:1234@pbx.example.org"]
    assert fields["archive"] == ["no"]


def test_ami_restart_resyncs(prosody, robot, buddies, daemon, fake_ami):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, extra="activewhen = PJSIP/desk"),
               general_extra=ami.general_keys(fake_ami))
    d.wait_peer("aim1", "Registered")
    fake_ami.shutdown()
    wait_for(lambda: "Asterisk is shutting down" in d.read_log(), 10, what="the Shutdown event")
    # While Asterisk is down the phone unregisters; after the restart the
    # DeviceStateList tells the daemon, which has no event for it.
    fake_ami.devices["PJSIP/desk"] = "UNAVAILABLE"
    fake_ami.start()
    wait_for(lambda: fake_ami.logins.count((ami.USER, True)) == 2, 15, what="a second login")
    d.wait_peer("aim1", "Unregistered")


def test_wrong_ami_password_is_clear_and_not_retried(prosody, robot, daemon, fake_ami):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody),
               general_extra=ami.general_keys(fake_ami, secret="wr0ng-ami-pass"))
    wait_for(lambda: "AMI login as 'imstatus' at 127.0.0.1" in d.read_log(), 10,
             what="the login failure")
    assert "failed: Authentication failed" in d.read_log()
    assert "wr0ng-ami-pass" not in d.read_log()
    time.sleep(3)  # a retry would have come after ~1 s: observe that none does
    assert fake_ami.logins == [(ami.USER, False)]
    assert d.peer("aim1")["status"] == "Registered"  # the IM side is unaffected


def test_ami_secret_never_on_the_wire(prosody, robot, daemon, fake_ami):
    """The login is Challenge + MD5 key (ami-B11): a local user who binds the
    AMI port while Asterisk restarts learns nothing."""
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody), general_extra=ami.general_keys(fake_ami))
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    actions = [{k.lower(): v for k, v in m} for m in fake_ami.actions]
    assert [a["action"].lower() for a in actions[:2]] == ["challenge", "login"]
    login = actions[1]
    assert login["authtype"].lower() == "md5" and "secret" not in login
    assert ami.SECRET not in repr(fake_ami.actions)


def test_ami_server_without_challenge_is_refused(prosody, robot, daemon):
    """Whatever answers on amiport without an MD5 challenge gets no secret."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    got = []

    def impostor():
        c, _ = srv.accept()
        c.sendall(b"Asterisk Call Manager/11.0.0\r\n")
        c.settimeout(5)
        data = c.recv(4096)
        got.append(data)
        c.sendall(b"Response: Error\r\nActionID: ims-challenge\r\nMessage: Must specify AuthType\r\n\r\n")
        try:
            got.append(c.recv(4096))
        except OSError:
            pass
        c.close()
    t = threading.Thread(target=impostor, daemon=True)
    t.start()
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody),
               general_extra=f"amihost = 127.0.0.1\namiport = {srv.getsockname()[1]}\n"
                             f"amiuser = {ami.USER}\namisecret = {ami.SECRET}\n")
    wait_for(lambda: "refused the MD5 challenge login" in d.read_log(), 10, what="the refusal")
    t.join(10)
    srv.close()
    assert b"Challenge" in got[0] and all(ami.SECRET.encode() not in g for g in got)


def test_presencehints_without_the_module(prosody, robot, buddies, daemon, fake_ami):
    """presencehints = yes: Custom:aim1:buckaroo and CustomPresence:aim1:buckaroo
    follow the buddy over AMI (ami-B12), so lamps work with no module."""
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]),
               general_extra=ami.general_keys(fake_ami) + "presencehints = yes\n")
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    b.presence(show="dnd", status='on a call, "really"')
    wait_for(lambda: fake_ami.devices.get("Custom:aim1:buckaroo") == "INUSE", 10,
             what="the device state")
    wait_for(lambda: fake_ami.custom_presence.get("CustomPresence:aim1:buckaroo") ==
             ("dnd", "dnd", 'on a call, "really"'), 10, what="the presence state")
    b.presence(status="back")
    wait_for(lambda: fake_ami.devices.get("Custom:aim1:buckaroo") == "NOT_INUSE", 10,
             what="idle again")
    # lampaway: a phone that reads only device state shows away its own way;
    # a reload applies it to the lamps at once.
    b.presence(show="away", status="lunch")
    wait_for(lambda: fake_ami.custom_presence.get("CustomPresence:aim1:buckaroo", ("",))[0]
             == "away", 10, what="away")
    assert fake_ami.devices["Custom:aim1:buckaroo"] == "NOT_INUSE"
    d.write_conf(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]),
                 ami.general_keys(fake_ami) + "presencehints = yes\nlampaway = onhold\n")
    d.imctl("reload")
    wait_for(lambda: fake_ami.devices.get("Custom:aim1:buckaroo") == "ONHOLD", 10,
             what="lampaway = onhold")
    b.unavailable()
    wait_for(lambda: fake_ami.custom_presence.get("CustomPresence:aim1:buckaroo", ("",))[0]
             == "unavailable", 10, what="offline")
    assert fake_ami.devices["Custom:aim1:buckaroo"] == "UNAVAILABLE"


def test_presencehints_off_by_default(prosody, robot, buddies, daemon, fake_ami):
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]),
               general_extra=ami.general_keys(fake_ami))
    wait_for(lambda: "device states in sync" in d.read_log(), 10, what="AMI login")
    b.presence(show="dnd", status="busy")
    d.wait_status("aim1/buckaroo", status="busy")
    assert not any(dict((k.lower(), v) for k, v in m).get("action", "").lower() == "setvar"
                   for m in fake_ami.actions)
