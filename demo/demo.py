#!/usr/bin/python3
"""make demo: a private Prosody on 127.0.0.1, a robot and buddies whose presence
changes live, imstatusd on a demo im.conf in the seed's shape, and
`imctl show subscribed aim1` printed each time it changes.  Where Debian's
prosody-modules is installed, the daemon is also an XMPP component the
server privileges to see the whole domain (peer corp, subscribe = *): every
user appears there without anyone subscribing; and where an Asterisk is
installed (/opt/asterisk or ASTERISK_PREFIX), a person (jane: phone 205,
janedoe's IM, a DND switch) is shown as her phone rings and her DND flips,
and the component publishes its
hints: janedoe adds phone 204@phones... and sees it ring and go busy.
Ctrl-C stops everything it started.  DEMO_SECONDS=N stops by itself after N
seconds.
"""
import datetime
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import harness  # noqa: E402
import real_asterisk  # noqa: E402

SCRIPT = [
    # (buddy, presence kwargs, what it shows)
    ("buckaroo", dict(status="work: at my desk"), "online"),
    ("janedoe", dict(show="away", status="lunch"), "away"),
    ("misspiggy20", dict(show="dnd", status="mobile: sip:12156667777@pbx.example.org"), "busy"),
    ("buckaroo", dict(idle_since=None, idle_seconds=140), "idle"),
    ("janedoe", dict(status="back"), "online"),
    ("misspiggy20", None, "offline"),
    ("buckaroo", dict(status="mobile: on the road"), "online"),
    ("misspiggy20", dict(show="xa", status="gone fishing"), "away"),
]


def main():
    seconds = float(os.environ.get("DEMO_SECONDS", "0")) or None
    work = tempfile.mkdtemp(prefix="imstatus-demo-")
    prosody = daemon = asterisk = None
    buddies = {}
    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        print(f"imstatus demo in {work}")
        component = None
        if os.path.exists("/usr/lib/prosody/modules/mod_privilege/mod_privilege.lua"):
            component = f"phones.{harness.DOMAIN}"
        prosody = harness.Prosody(os.path.join(work, "prosody"), component=component)
        robot = prosody.register("pinkys-asterisk", "demo-robot-password")
        for name in ("buckaroo", "janedoe", "turtlehead", "misspiggy20"):
            prosody.register(name, f"{name}-demo-pw")
        prosody.start()
        print(f"Prosody on 127.0.0.1:{prosody.port}, domain {harness.DOMAIN}")

        http_port = int(os.environ.get("DEMO_HTTP_PORT", "0")) or harness.free_port()
        conf = f"""; im.conf -- the seed's example, on a private XMPP server
[aim1]
username={robot}
secret=demo-robot-password
type=jabber
statusmessage="Pinky Caruthers Phone Presence Robot - no inbound, please."
subscribe=buckaroo,janedoe,turtlehead
subscribe=misspiggy20
host=127.0.0.1
port={prosody.port}
cafile={prosody.ca_pem}

[demo]
type=webuser
secret=demo-board-password
send=yes
"""
        general = f"httpbind=127.0.0.1:{http_port}"
        binary = real_asterisk.find_asterisk() if component else None
        if binary:
            asterisk = real_asterisk.Asterisk(
                os.path.join(work, "asterisk"), binary,
                extensions="[phones]\nexten => 204,hint,Custom:204\nexten => 205,hint,Custom:205\n")
            asterisk.start()
            asterisk.rx("devstate change Custom:204 NOT_INUSE")
            asterisk.rx("devstate change Custom:205 NOT_INUSE")
            asterisk.rx("devstate change Custom:DND205 NOT_INUSE")
            print(f"Asterisk on 127.0.0.1 (AMI port {asterisk.ami_port}), hints 204 and 205 in [phones]")
            general += (f"\namihost=127.0.0.1\namiport={asterisk.ami_port}\n"
                        "amiuser=imstatus\namisecret=another-s3cret")
        if binary:
            conf += """
; a person: her phone (205), her IM identity and her do-not-disturb switch
[jane]
type=person
extension=205@phones
im=aim1/janedoe
dnd=Custom:DND205
"""
            conf = conf.replace("send=yes\n", "send=yes\ndnd=yes\n", 1)
        if component:
            conf += f"""
; the whole domain, as an XMPP component the server privileges (XEP-0356)
[corp]
type=component
username={component}
secret={prosody.component_secret}
host=127.0.0.1
port={prosody.component_port}
domain={harness.DOMAIN}
subscribe=*
""" + ("publish=phones\n" if binary else "")
        daemon = harness.Daemon(os.path.join(work, "imstatusd"), conf, general_extra=general)
        print(f"\n--- {daemon.conf} ---\n{open(daemon.conf).read()}")
        daemon.start()
        daemon.wait_peer("aim1", "Registered")
        print(daemon.imctl("show", "peers").stdout)

        for name in ("buckaroo", "janedoe", "misspiggy20"):
            buddies[name] = harness.Buddy(f"{name}@{harness.DOMAIN}", f"{name}-demo-pw",
                                          prosody.port, prosody.ca_pem, resource="laptop")
        print(f"Presence board: http://127.0.0.1:{http_port}/ "
              "(user demo, password demo-board-password)")
        print("buddies logged in; turtlehead never does. Ctrl-C to stop.\n")
        phone = f"204@{component}" if binary else None
        if phone:
            jane = buddies["janedoe"]
            jane._call(lambda: jane.xmpp.send_presence(pto=phone, ptype="subscribe"))
            print(f"janedoe adds {phone} to her contacts; the demo rings and busies it.\n")
        phone_states = ["RINGING", "INUSE", "NOT_INUSE"]
        seen_phone = None
        last_people = None

        start = time.monotonic()
        last = None
        step = 0
        next_change = time.monotonic()
        while not stop["now"] and (seconds is None or time.monotonic() - start < seconds):
            if time.monotonic() >= next_change:
                if phone:
                    asterisk.rx(f"devstate change Custom:204 {phone_states[step % 3]}")
                    # Jane's phone rings and she takes it; every fourth turn
                    # her *78 (the DND device) goes on, then off again.
                    asterisk.rx(f"devstate change Custom:205 {phone_states[(step + 1) % 3]}")
                    asterisk.rx("devstate change Custom:DND205 "
                                + ("BUSY" if step % 8 in (3, 4) else "NOT_INUSE"))
                who, kw, word = SCRIPT[step % len(SCRIPT)]
                step += 1
                b = buddies[who]
                if kw is None:
                    b.unavailable()
                    print(f"[driver] {who} logs off")
                else:
                    b.presence(**kw)
                    print(f"[driver] {who} -> {word} {kw.get('status') or ''}")
                next_change = time.monotonic() + 3
            out = daemon.imctl("show", "subscribed", "aim1").stdout
            # Print on a change of status, not on every tick of the idle counter.
            key = [line.split()[:2] for line in out.splitlines()]
            if key != last:
                print(f"\n$ imctl show subscribed aim1   ({datetime.datetime.now():%H:%M:%S})")
                print(out, end="", flush=True)
                last = key
            if phone:
                people = daemon.imctl("show", "people").stdout
                if people != last_people:
                    print(f"\n$ imctl show people\n{people}", end="", flush=True)
                    last_people = people
                now = buddies["janedoe"].presences.get(phone)
                if now and now != seen_phone:
                    shown = "offline" if now[0] == "unavailable" else (now[1] or "available")
                    print(f"[janedoe's client] {phone}: {shown} {now[2] or ''}".rstrip())
                    seen_phone = now
            time.sleep(0.2)
        print("\n$ imctl status aim1/misspiggy20")
        print(daemon.imctl("status", "aim1/misspiggy20").stdout)
        if component:
            print("$ imctl show subscribed corp   (the component: nobody subscribed to anyone)")
            print(daemon.imctl("show", "subscribed", "corp").stdout)
    finally:
        print("stopping")
        for b in buddies.values():
            b.close()
        if daemon:
            daemon.stop()
        if asterisk:
            asterisk.stop()
        if prosody:
            prosody.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
