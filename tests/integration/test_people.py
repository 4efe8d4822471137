"""type = person: a phone, IM identities and a do-not-disturb switch as one
presence, in a real Asterisk 22 (skipped with one line where there is none)
and a real Prosody (jane's identity seen through a privileged component)."""
import os
import re

import pytest

import asterisk
import harness
from harness import DOMAIN, Buddy, wait_for

COMPONENT = f"phones.{DOMAIN}"
# Jane is a static member of two queues (app_queue is in the Asterisk package).
QUEUES = ("[agents]\nstrategy = ringall\nmember => Local/205@agents,0,Jane,Custom:ph205\n"
          "[sales]\nstrategy = ringall\nmember => Local/205@agents,0,Jane,Custom:ph205\n")

# The dialplan: extensions.conf.sample (its [imstatus-dnd] is the *78/*79
# switch under test), her phone's hint, and phones dialling as extension 205.
SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "extensions.conf.sample")
with open(SAMPLE) as _f:
    DIALPLAN = _f.read() + """
[default]
exten => 205,hint,Custom:ph205
exten => 206,hint,Local/206@phones
[phones]
exten => 206,1,Answer()
 same => n,Wait(60)
[agents]
exten => 205,1,Wait(30)
[features]
exten => _*7X,1,Set(CALLERID(num)=205)
 same => n,Goto(imstatus-dnd,${EXTEN},1)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, ca):
    if not os.path.exists("/usr/lib/prosody/modules/mod_privilege/mod_privilege.lua"):
        pytest.skip("no mod_privilege: apt-get install prosody-modules (make deps does)")
    p = harness.Prosody(str(tmp_path_factory.mktemp("prosody")), ca, component=COMPONENT)
    p.start()
    yield p
    p.stop()


@pytest.fixture
def pbx(tmp_path):
    import real_asterisk
    binary = real_asterisk.require_asterisk()
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, extensions=DIALPLAN,
                               modules=["app_queue.so"], etc_files={"queues.conf": QUEUES})
    a.start()
    a.rx("devstate change Custom:ph205 NOT_INUSE")
    a.rx("devstate change Custom:DND205 NOT_INUSE")
    yield a
    a.stop()


def conf(server, extra=""):
    return (f"[corp]\ntype = component\nusername = {COMPONENT}\n"
            f"secret = {server.component_secret}\nhost = 127.0.0.1\n"
            f"port = {server.component_port}\ndomain = {DOMAIN}\nsubscribe = jane\n"
            "[jane]\ntype = person\nextension = 205@default\nim = corp/jane\n"
            "dnd = Custom:DND205\n" + extra)


def pause(pbx, queue):
    """Jane's pause in @queue: its reason ("" for none), or None when not paused."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", pbx.rx(f"queue show {queue}"))
    line = next(l for l in text.splitlines() if "Local/205@agents" in l)
    m = re.search(r"\(paused:?([^ )]*)", line)
    return m.group(1) if m else None


def ami_keys(pbx):
    return (f"amihost = 127.0.0.1\namiport = {pbx.ami_port}\namiuser = imstatus\n"
            "amisecret = another-s3cret\n")


def person(d):
    return asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,jane").vars


def device(pbx, name):
    m = re.search(rf"Name: 'Custom:{re.escape(name)}'\s+State: '(\w+)'", pbx.rx("devstate list"))
    return m.group(1) if m else None


def wait_person(d, timeout=15, **want):
    def check():
        v = person(d)
        return v if all(v.get(k) == x for k, x in want.items()) else None
    try:
        return wait_for(check, timeout, interval=0.05, what=f"jane to have {want}")
    except TimeoutError as e:
        raise AssertionError(f"{e}; now {person(d)}") from None


def test_one_presence_phone_im_and_dnd(server, daemon, pbx):
    server.register("jane", "jane-pw")
    jane = Buddy(f"jane@{DOMAIN}", "jane-pw", server.port, server.ca_pem, resource="desk")
    try:
        d = daemon(conf(server), general_extra=ami_keys(pbx))
        d.wait_peer("corp", "Registered")
        wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")
        jane.presence(status="at my desk")
        v = wait_person(d, **{"IM-STATUS": "online", "IM-PHONE": "idle", "IM-DND": "0",
                              "IM-STATUSTEXT": "at my desk"})
        assert v["IM-RESULT"] == "OK"
        # Her phone rings, then she is on it: busy, IM-SHOW phone.
        pbx.rx("devstate change Custom:ph205 RINGING")
        wait_person(d, **{"IM-PHONE": "ringing", "IM-STATUS": "busy", "IM-SHOW": "phone"})
        pbx.rx("devstate change Custom:ph205 INUSE")
        wait_person(d, **{"IM-PHONE": "inuse", "IM-STATUS": "busy", "IM-SHOW": "phone"})
        pbx.rx("devstate change Custom:ph205 NOT_INUSE")
        wait_person(d, **{"IM-PHONE": "idle", "IM-STATUS": "online"})
        # *78 in the dialplan: DND on, whatever her IM says.
        pbx.rx("channel originate Local/*78@features application Wait 1")
        wait_person(d, **{"IM-DND": "1", "IM-STATUS": "busy", "IM-SHOW": "dnd"})
        # imctl: off, and the dialplan's device follows.
        assert "do not disturb off" in d.imctl("dnd", "jane", "off").stdout
        wait_for(lambda: device(pbx, "DND205") == "NOT_INUSE", 10, what="Custom:DND205 off")
        wait_person(d, **{"IM-DND": "0", "IM-STATUS": "online"})
        # Jane chooses dnd in her own IM client: DND on, the device follows.
        jane.presence(show="dnd", status="focus time")
        wait_for(lambda: device(pbx, "DND205") == "BUSY", 10, what="Custom:DND205 on")
        v = wait_person(d, **{"IM-DND": "1", "IM-SHOW": "dnd"})
        assert v["IM-STATUSTEXT"] == "focus time"
        # She comes back: the last change wins, DND off everywhere.
        jane.presence(status="back")
        wait_for(lambda: device(pbx, "DND205") == "NOT_INUSE", 10, what="Custom:DND205 off again")
        wait_person(d, **{"IM-DND": "0", "IM-STATUS": "online"})
        # imctl sees the same person, and a watcher hears her.
        from test_watch import Watcher
        w = Watcher(d)
        try:
            w.wait(lambda k, o: k == "person" and o["person"] == "jane" and o["dnd"] is False)
            d.imctl("dnd", "jane", "on")
            w.wait(lambda k, o: k == "person" and o["dnd"] is True and o["show"] == "dnd")
            d.imctl("dnd", "jane", "off")
            w.wait(lambda k, o: k == "person" and o["dnd"] is False)
        finally:
            w.stop()
        shown = d.json("show", "people")
        assert [p["person"] for p in shown] == ["jane"] and shown[0]["phone"] == "idle"
        st = d.json("status", "jane")
        assert st["dnd"] is False and st["status"] == "online"
        assert "IM-PHONE=idle" in d.imctl("status", "jane").stdout
        r = d.imctl("dnd", "nobody", "on", check=False)
        assert r.returncode != 0 and "no person named 'nobody'" in r.stderr
    finally:
        jane.close()


def test_a_real_call_makes_him_busy(server, daemon, pbx):
    # Not a device state set by hand: a channel to his phone (a Local channel,
    # whose state Asterisk itself reports on the hint) rings and is answered.
    d = daemon(conf(server) + "[jim]\ntype = person\nextension = 206@default\n",
               general_extra=ami_keys(pbx))
    wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")

    def jim(**want):
        def check():
            v = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,jim").vars
            return v if all(v.get(k) == x for k, x in want.items()) else None
        return wait_for(check, 15, interval=0.05, what=f"jim to have {want}")
    jim(**{"IM-PHONE": "idle"})
    pbx.rx("channel originate Local/206@phones application Wait 60")
    v = jim(**{"IM-PHONE": "inuse", "IM-STATUS": "busy", "IM-SHOW": "phone"})
    assert v["IM-RESULT"] == "OK"
    assert d.json("status", "jim")["phone"] == "inuse"
    pbx.rx("channel request hangup all")
    jim(**{"IM-PHONE": "idle"})


def test_dnd_survives_restarts_and_the_last_change_wins(server, daemon, pbx):
    d = daemon(conf(server), general_extra=ami_keys(pbx))
    wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")
    d.imctl("dnd", "jane", "on")
    wait_for(lambda: device(pbx, "DND205") == "BUSY", 10, what="Custom:DND205 on")
    # The daemon restarts: DND is still on (Asterisk and the daemon agree).
    d.stop()
    d.start()
    wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login again")
    wait_person(d, **{"IM-DND": "1"})
    # *79 while the daemon is away: what Asterisk says when it is back wins.
    d.stop()
    pbx.rx("channel originate Local/*79@features application Wait 1")
    wait_for(lambda: device(pbx, "DND205") == "NOT_INUSE", 10, what="*79")
    d.start()
    wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login again")
    wait_person(d, **{"IM-DND": "0"})
    # DND switched on while Asterisk is away (it keeps NOT_INUSE in its
    # astdb): pushed when it is back, not undone by what it lists then.
    pbx.stop()
    wait_for(lambda: "AMI: down" in d.read_log(), 20, what="AMI down")
    d.imctl("dnd", "jane", "on")
    pbx.start()
    wait_for(lambda: device(pbx, "DND205") == "BUSY", 30, what="Custom:DND205 pushed")
    wait_person(d, **{"IM-DND": "1"})
    assert d.read_log().count("do not disturb on (imctl)") == 2


def test_dnd_pauses_her_queues_and_a_supervisors_pause_stays(server, daemon, pbx):
    pbx.rx("queue pause member Local/205@agents queue sales reason supervisor")
    d = daemon(conf(server, "queuemember = Local/205@agents\n"), general_extra=ami_keys(pbx))
    wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")
    assert pause(pbx, "agents") is None
    pbx.rx("channel originate Local/*78@features application Wait 1")
    wait_for(lambda: pause(pbx, "agents") == "dnd", 10, what="paused in agents for dnd")
    assert pause(pbx, "sales") == "supervisor"
    # Asterisk restarts: a static member's pause is gone, the DND device is
    # not (astdb); the daemon pauses her again, and DND does not flap.
    pbx.stop()
    pbx.start()
    wait_for(lambda: pause(pbx, "agents") == "dnd", 30, what="paused again after the restart")
    assert d.read_log().count("jane: do not disturb on (") == 1
    assert d.read_log().count("jane: do not disturb off (") == 0
    assert d.read_log().count("device Custom:DND205 is BUSY") == 1  # one DeviceStateChange
    # DND off: unpaused where we paused her; the supervisor's pause would
    # stay (it went with the restart: set it again first).
    pbx.rx("queue pause member Local/205@agents queue sales reason supervisor")
    d.imctl("dnd", "jane", "off")
    wait_for(lambda: pause(pbx, "agents") is None, 10, what="unpaused in agents")
    assert pause(pbx, "sales") == "supervisor"
    wait_person(d, **{"IM-DND": "0"})
    # Jane chooses dnd in her own XMPP client: the device and the pause
    # follow; she comes back, and both are undone.
    server.register("jane", "jane-pw")
    jane = Buddy(f"jane@{DOMAIN}", "jane-pw", server.port, server.ca_pem, resource="desk")
    try:
        jane.presence(show="dnd", status="focus")
        wait_for(lambda: pause(pbx, "agents") == "dnd", 10, what="paused for her IM dnd")
        assert device(pbx, "DND205") == "BUSY" and pause(pbx, "sales") == "supervisor"
        jane.presence(status="back")
        wait_for(lambda: pause(pbx, "agents") is None, 10, what="unpaused as she is back")
        assert device(pbx, "DND205") == "NOT_INUSE"
    finally:
        jane.close()


def test_queues_with_the_faithful_ami_peer(server, daemon):
    # The same where no Asterisk is installed: QueueStatus and QueuePause as
    # ami-B13 recorded them.
    import ami
    fake = ami.FakeAmi(devices={"Custom:DND205": "NOT_INUSE"},
                       hints={("default", "205"): ("Custom:ph205", "Idle")})
    fake.queues = {q: {"Local/205@agents": {"name": "Jane", "state": "Custom:ph205",
                                            "paused": q == "sales",
                                            "reason": "supervisor" if q == "sales" else ""}}
                   for q in ("agents", "sales")}
    try:
        d = daemon(conf(server, "queuemember = Local/205@agents\n"),
                   general_extra=ami.general_keys(fake))
        wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")
        d.imctl("dnd", "jane", "on")
        wait_for(lambda: fake.devices.get("Custom:DND205") == "BUSY", 10, what="the device")
        wait_for(lambda: fake.queues["agents"]["Local/205@agents"]["reason"] == "dnd", 10,
                 what="paused in agents")
        assert fake.queues["sales"]["Local/205@agents"]["reason"] == "supervisor"
        d.imctl("dnd", "jane", "off")
        wait_for(lambda: not fake.queues["agents"]["Local/205@agents"]["paused"], 10,
                 what="unpaused in agents")
        assert fake.queues["sales"]["Local/205@agents"]["paused"]
        # Only the memberships that needed it were touched.
        assert fake.queue_actions == [("Local/205@agents", "agents", True, "dnd"),
                                      ("Local/205@agents", "agents", False, "")]
    finally:
        fake.stop()


def test_the_module_answers_for_a_person_and_lights_her_lamp(server, daemon, tmp_path):
    # app_imstatus.so in a real Asterisk 22: IMStatus(jane) with IM-PHONE and
    # IM-DND, IM_STATUS(jane,field), and IM:jane as device and presence state.
    import real_asterisk
    from test_module import DOCS, MODULE
    binary = real_asterisk.require_asterisk()
    if not os.path.exists(MODULE):
        pytest.skip("app_imstatus.so not built (no Asterisk headers at build time)")
    server.register("jane", "jane-pw")
    jane = Buddy(f"jane@{DOMAIN}", "jane-pw", server.port, server.ca_pem, resource="desk")
    a = real_asterisk.Asterisk(
        str(tmp_path / "asterisk-m"), binary, extra_modules=[MODULE], extra_docs=[DOCS],
        extensions=DIALPLAN + "[lamps]\nexten => 7205,hint,IM:jane,IM:jane\n[probe]\n"
        "exten => s,1,IMStatus(jane)\n"
        " same => n,NoOp(PERSON|${IM-STATUS}|${IM-SHOW}|${IM-PHONE}|${IM-DND}|"
        "${IM_STATUS(jane,phone)}|${IM_STATUS(jane,dnd)})\n same => n,Hangup()\n")
    try:
        # lampdnd = busy: a phone that reads only device state tells DND
        # (Busy) from a call (InUse).
        d = daemon(conf(server), general_extra=ami_keys(a) + "lampdnd = busy\n")
        with open(os.path.join(a.etc, "imstatus.conf"), "w") as f:
            f.write(f"[general]\ncontrolsocket = {d.socket}\ndaemonuser = root\n")
        a.start()
        a.rx("devstate change Custom:ph205 NOT_INUSE")
        a.rx("devstate change Custom:DND205 NOT_INUSE")
        wait_for(lambda: "device states in sync" in d.read_log(), 30, what="AMI login")

        def lamp():
            m = re.search(r"7205@lamps\s*: IM:jane,IM:jane\s+State:(\S+)\s+Presence:(\S+)",
                          a.rx("core show hint 7205"))
            return m.groups() if m else None

        def probe(want):
            a.rx("channel originate Local/s@probe application Wait 1")
            wait_for(lambda: want in a.output(), 15, what=want)
        jane.presence(status="at my desk")
        wait_for(lambda: lamp() == ("Idle", "available"), 20, what="the lamp idle")
        probe("PERSON|online|available|idle|0|idle|0")
        a.rx("devstate change Custom:ph205 INUSE")
        wait_for(lambda: lamp() and lamp()[0] == "InUse", 20, what="the lamp in use (phone)")
        probe("PERSON|busy|phone|inuse|0|inuse|0")
        a.rx("devstate change Custom:ph205 NOT_INUSE")
        a.rx("channel originate Local/*78@features application Wait 1")
        wait_for(lambda: lamp() == ("Busy", "dnd"), 20, what="the lamp dnd (lampdnd = busy)")
        probe("PERSON|busy|dnd|idle|1|idle|1")
    finally:
        jane.close()
        a.stop()


def test_her_published_phone_shows_her_dnd(server, daemon):
    # The component publishes [default]: her phone 205 is a contact, and it
    # shows her DND while her phone is idle (the faithful AMI peer).
    import ami
    fake = ami.FakeAmi(devices={"Custom:DND205": "NOT_INUSE"},
                       hints={("default", "205"): ("Custom:ph205", "Idle")})
    server.register("bob", "bob-pw")
    bob = Buddy(f"bob@{DOMAIN}", "bob-pw", server.port, server.ca_pem, resource="desk")
    try:
        d = daemon(conf(server).replace("subscribe = jane\n", "subscribe = jane\npublish = default\n"),
                   general_extra=ami.general_keys(fake))
        d.wait_peer("corp", "Registered")
        wait_for(lambda: any(ami.get(a, "Action") == "ExtensionStateList" for a in fake.actions),
                 10, what="ExtensionStateList")
        phone = f"205@{COMPONENT}"
        bob._call(lambda: bob.xmpp.send_presence(pto=phone, ptype="subscribe"))
        bob.wait_presence(phone, lambda v: v[0] != "unavailable" and v[1] == "", timeout=15)
        d.imctl("dnd", "jane", "on")
        bob.wait_presence(phone, lambda v: v[1] == "dnd" and v[2] == "do not disturb", timeout=15)
        fake.set_hint("default", "205", "InUse")
        bob.wait_presence(phone, lambda v: v[1] == "dnd" and v[2] == "on the phone", timeout=15)
        fake.set_hint("default", "205", "Idle")
        d.imctl("dnd", "jane", "off")
        bob.wait_presence(phone, lambda v: v[1] == "" and v[2] == "", timeout=15)
    finally:
        bob.close()
        fake.stop()


def test_ten_thousand_people_and_hostile_texts(server, daemon):
    # 10,000 people (each her hint, her DND device and an identity), the
    # faithful AMI listing all their hints and devices: every answer at once,
    # a device change reaches the right person; and a hostile status text
    # of a person's identity reaches the dialplan as the safe rendering.
    import ami
    from test_agi import HOSTILE, safe_rendering
    n = 10_000
    fake = ami.FakeAmi(devices={f"Custom:DND{i}": "NOT_INUSE" for i in range(n)},
                       hints={("default", str(10000 + i)): (f"Custom:ph{i}", "Idle")
                              for i in range(n)})
    people = "".join(f"[p{i}]\ntype = person\nextension = {10000 + i}@default\n"
                     f"im = corp/u{i}\ndnd = Custom:DND{i}\n" for i in range(n))
    server.register("u7", "u7-pw")
    u7 = Buddy(f"u7@{DOMAIN}", "u7-pw", server.port, server.ca_pem, resource="desk")
    try:
        d = daemon(conf(server).replace("subscribe = jane\n", "subscribe = *\n") + people,
                   general_extra=ami.general_keys(fake))
        d.wait_peer("corp", "Registered")
        wait_for(lambda: any(ami.get(a, "Action") == "ExtensionStateList" for a in fake.actions),
                 20, what="ExtensionStateList")
        v = wait_for(lambda: (lambda v: v if v["IM-PHONE"] == "idle" else None)(
            asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,p9999").vars), 30,
            what="the last person's phone")
        assert v["IM-DND"] == "0"
        shown = d.imctl("show", "people", timeout=60).stdout.splitlines()
        assert len(shown) == 1 + n + 1  # the header, p0..p9999 and jane
        fake.set_device("Custom:DND5000", "BUSY")
        wait_for(lambda: asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,p5000").vars["IM-DND"]
                 == "1", 10, what="p5000's DND")
        assert asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,p5001").vars["IM-DND"] == "0"
        for text in HOSTILE[:12]:
            u7.presence(status=text)
            want = safe_rendering(text)
            wait_for(lambda: asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,p7").vars.get(
                "IM-STATUSTEXT") == want, 10, what=f"the safe rendering of {text!r}")
        # A name the dialplan writes that is no person: BADARGS, nothing else.
        v = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMStatus,p7${SHELL}").vars
        assert v["IM-RESULT"] == "BADARGS" and "IM-PHONE" not in v
    finally:
        u7.close()
        fake.stop()


def test_call_from_her_im_client_rings_her_phone_then_the_extension(server, daemon):
    # Jane sends "call" to the phone contact 204@phones...: her phone rings
    # (Local/205@default), then 204 in the published context; from someone
    # who is no person it is an ordinary IM (a UserEvent), and no call.
    import ami
    fake = ami.FakeAmi(hints={("default", "204"): ("Custom:ph204", "Idle"),
                              ("default", "205"): ("Custom:ph205", "Idle")})
    for who in ("jane", "bob"):
        server.register(who, f"{who}-pw")
    jane = Buddy(f"jane@{DOMAIN}", "jane-pw", server.port, server.ca_pem, resource="desk")
    bob = Buddy(f"bob@{DOMAIN}", "bob-pw", server.port, server.ca_pem, resource="desk")
    try:
        d = daemon(conf(server).replace("subscribe = jane\n", "subscribe = jane, bob\n"
                                        "publish = default\n"),
                   general_extra=ami.general_keys(fake))
        d.wait_peer("corp", "Registered")
        wait_for(lambda: any(ami.get(a, "Action") == "ExtensionStateList" for a in fake.actions),
                 10, what="ExtensionStateList")
        bob.send_message(f"204@{COMPONENT}", "call")
        wait_for(lambda: fake.user_events, 10, what="bob's IM as a UserEvent")
        assert ami.get(fake.user_events[-1], "Body") == "call 204"
        jane.send_message(f"204@{COMPONENT}", "call")
        orig = wait_for(lambda: fake.originates, 10, what="the Originate")[-1]
        assert (ami.get(orig, "Channel"), ami.get(orig, "Context"), ami.get(orig, "Exten")) == \
            ("Local/205@default", "default", "204")
        # A phone that is not published is no call.
        n = len(fake.originates)
        jane.send_message(f"999@{COMPONENT}", "call")
        wait_for(lambda: any(ami.get(e, "Body") == "call 999" for e in fake.user_events), 10,
                 what="an ordinary IM")
        assert len(fake.originates) == n
        assert "jane@imstatus.test (jane): ringing 205@default for 204" in d.read_log()
    finally:
        jane.close()
        bob.close()
        fake.stop()
