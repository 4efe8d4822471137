#!/usr/bin/python3
"""make demo: a private Prosody on 127.0.0.1, a robot and buddies whose presence
changes live, imstatusd on a demo im.conf in the seed's shape, and
`imctl show subscribed aim1` printed each time it changes.  Where Debian's
prosody-modules is installed, the daemon is also an XMPP component the
server privileges to see the whole domain (peer corp, subscribe = *): every
user appears there without anyone subscribing.  Ctrl-C stops everything it
started.  DEMO_SECONDS=N stops by itself after N seconds.
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
    prosody = daemon = None
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
"""
        http_port = int(os.environ.get("DEMO_HTTP_PORT", "0")) or harness.free_port()
        daemon = harness.Daemon(os.path.join(work, "imstatusd"), conf,
                                general_extra=f"httpbind=127.0.0.1:{http_port}")
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

        start = time.monotonic()
        last = None
        step = 0
        next_change = time.monotonic()
        while not stop["now"] and (seconds is None or time.monotonic() - start < seconds):
            if time.monotonic() >= next_change:
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
        if prosody:
            prosody.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
