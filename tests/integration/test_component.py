"""type = component: imstatusd as an XMPP component (XEP-0114) that a real
server privileges (XEP-0356) to see every user of its domain: no robot
account, nobody's approval, no roster item anywhere.  Every case runs
against Prosody (mod_privilege from Debian's prosody-modules, privilege:2)
and ejabberd (its own mod_privilege, privilege:1), one server of each per
module."""
import os
import signal

import pytest

import asterisk
import harness
from harness import DOMAIN, Buddy, wait_for

COMPONENT = f"phones.{DOMAIN}"


def needs_mod_privilege():
    if not os.path.exists("/usr/lib/prosody/modules/mod_privilege/mod_privilege.lua"):
        pytest.skip("no mod_privilege: apt-get install prosody-modules (make deps does)")


def make_server(kind, directory, ca, privileged=True):
    if kind == "prosody":
        needs_mod_privilege()
        return harness.Prosody(directory, ca, component=COMPONENT, privileged=privileged)
    return harness.Ejabberd(directory, ca, component=COMPONENT, privileged=privileged)


@pytest.fixture(scope="module", params=["prosody", "ejabberd"])
def server(request, tmp_path_factory, ca):
    p = make_server(request.param, str(tmp_path_factory.mktemp(request.param)), ca)
    p.kind = request.param
    p.start()
    yield p
    p.stop()
    if hasattr(p, "cleanup"):
        p.cleanup()


def kill(server):
    """SIGKILL the process that serves XMPP, and wait for its ports to close."""
    os.kill(server.server_pid(), signal.SIGKILL)
    try:
        server.proc.wait(30)
    except Exception:
        pass
    server.proc = None
    wait_for(lambda: not harness.port_open(server.port), 30, what="the server gone")


def conf(server, subscribe="jane, bob", secret=None, extra=""):
    return (f"[corp]\ntype = component\nusername = {COMPONENT}\n"
            f"secret = {secret or server.component_secret}\nhost = 127.0.0.1\n"
            f"port = {server.component_port}\ndomain = {DOMAIN}\nsubscribe = {subscribe}\n"
            "pinginterval = 2\npingtimeout = 3\n" + extra)


def user(server, name, resource="desk", **kw):
    server.register(name, f"{name}-pw")
    return Buddy(f"{name}@{DOMAIN}", f"{name}-pw", server.port, server.ca_pem, resource=resource, **kw)


def user_again(server, name, resource="desk"):
    return Buddy(f"{name}@{DOMAIN}", f"{name}-pw", server.port, server.ca_pem, resource=resource)


def seen(server, d, b, who="corp/jane"):
    """Waits until the daemon has @b online (on ejabberd, which reports
    changes only, after @b says something)."""
    d.wait_peer("corp", "Registered")
    if server.kind == "ejabberd":
        b.presence()
    d.wait_status(who, status="online")


def imstatus(d, who):
    return asterisk.agi(d.agi_port, f"agi://127.0.0.1/IMStatus,{who}").vars


def test_a_domain_user_nobody_subscribed_to(server, daemon):
    jane = user(server, "jane")
    try:
        d = daemon(conf(server))
        d.wait_peer("corp", "Registered")
        assert "the server grants every presence" in d.read_log()
        if server.kind == "prosody":
            # Already online when the component came: the server's snapshot.
            s = d.wait_status("corp/jane", status="online")
            assert s["result"] == "OK"
            # bob was never online: offline.
            assert d.status("corp/bob")["status"] == "offline"
        else:
            # ejabberd reports changes only: jane is not known until she moves.
            assert "forwards only the presences users send" in d.read_log()
            s = d.status("corp/jane")
            assert s["status"] == "unknown" and s["result"] == "PENDING"
        jane.presence(show="away", status="mobile: at lunch & back <2> sip:204@pbx")
        s = d.wait_status("corp/jane", status="away", text="mobile: at lunch & back <2> sip:204@pbx")
        assert s["prefix"] == "mobile" and s["uri"] == "sip:204@pbx"
        v = imstatus(d, "corp/jane")
        assert v["IM-STATUS"] == "away" and v["IM-RESULT"] == "OK"
        jane.presence(show="dnd", status="on the phone")
        d.wait_status("corp/jane", status="busy", text="on the phone")
        # Two resources: the most available one speaks.
        phone = Buddy(f"jane@{DOMAIN}", "jane-pw", server.port, server.ca_pem, resource="phone")
        phone.presence(show="chat", priority=5)
        d.wait_status("corp/jane", status="online")
        phone.unavailable()
        phone.close()
        d.wait_status("corp/jane", status="busy")
        jane.unavailable()
        d.wait_status("corp/jane", status="offline")
        # No roster item was added to anyone: the component asked nobody.
        jane2 = Buddy(f"jane@{DOMAIN}", "jane-pw", server.port, server.ca_pem, resource="check")
        try:
            roster = jane2._call(lambda: dict(jane2.xmpp.client_roster))
            assert not any(COMPONENT in str(k) for k in roster), roster
            assert not jane2.subscription_requests
        finally:
            jane2.close()
    finally:
        jane.close()


def test_users_of_other_domains_and_unwatched_users_are_not_buddies(server, daemon):
    carl = user(server, "carl")  # same domain, not in subscribe
    try:
        d = daemon(conf(server, subscribe="jane"))
        d.wait_peer("corp", "Registered")
        carl.presence(show="away", status="not watched")
        jane = user(server, "jane")
        try:
            d.wait_status("corp/jane", status="online")
            assert d.status("corp/carl")["result"] == "NOTSUBSCRIBED"
            shown = d.imctl("show", "subscribed", "corp").stdout
            assert "carl" not in shown
        finally:
            jane.close()
    finally:
        carl.close()


def test_subscribe_star_every_user_of_the_domain(server, daemon):
    carl = user(server, "carl")
    try:
        d = daemon(conf(server, subscribe="*"))
        d.wait_peer("corp", "Registered")
        # Listed nowhere: a buddy once the server reports him (Prosody at
        # once, he was online before; ejabberd when he moves).
        if server.kind == "ejabberd":
            carl.presence(status="here")
        d.wait_status("corp/carl", status="online")
        dora = user(server, "dora")
        try:
            dora.presence(show="away", status="in a meeting")
            s = d.wait_status("corp/dora", status="away", text="in a meeting")
            assert s["result"] == "OK"
            v = imstatus(d, "corp/dora")
            assert v["IM-STATUS"] == "away" and v["IM-STATUSTEXT"] == "in a meeting"
            dora.unavailable()
        finally:
            dora.close()
        d.wait_status("corp/dora", status="offline")
        # Never reported: not known (not every server reports who was online
        # before the component came).
        v = imstatus(d, "corp/nobody-here")
        assert v["IM-STATUS"] == "unknown" and v["IM-RESULT"] == "PENDING"
        # Another domain is not ours.
        assert d.status(f"corp/eve@elsewhere.example")["result"] == "NOTSUBSCRIBED"
        assert "\ncarl " in d.imctl("show", "subscribed", "corp").stdout
    finally:
        carl.close()


def test_a_client_that_drops_goes_offline(request, server, daemon):
    # A client that goes without saying unavailable (a crash, a lost
    # network, slixmpp's plain disconnect): the server says it for him.
    if server.kind == "ejabberd":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="ejabberd 23.01's mod_privilege forwards only the presences a "
                                "user sends, not the one the server sends when he drops"))
    d = daemon(conf(server, subscribe="*"))
    d.wait_peer("corp", "Registered")
    erin = user(server, "erin")
    try:
        erin.presence(status="here")
        d.wait_status("corp/erin", status="online")
    finally:
        erin.close()
    d.wait_status("corp/erin", status="offline")


@pytest.mark.parametrize("kind", ["prosody", "ejabberd"])
def test_without_the_privilege_failed_once_no_storm(tmp_path, ca, daemon, kind):
    p = make_server(kind, str(tmp_path / kind), ca, privileged=False)
    p.start()
    try:
        d = daemon(conf(p))
        peer = d.wait_peer("corp", "Failed")
        assert "no presence privilege" in peer.get("reason", "") + d.read_log()
        # Fatal: no reconnect until reload (one handshake in Prosody's log).
        wait_for(lambda: "no presence privilege" in d.read_log(), 10)
        log = d.read_log()
        assert log.count("no presence privilege") == 1, log[-2000:]
        assert d.peer("corp")["status"] == "Failed"
    finally:
        p.stop()
        if hasattr(p, "cleanup"):
            p.cleanup()


def test_wrong_secret_is_fatal(server, daemon):
    d = daemon(conf(server, secret="wrong"))
    peer = d.wait_peer("corp", "Failed")
    assert "refused the component's secret" in d.read_log()


def test_server_restart_resnapshots_without_stale_online(server, daemon):
    jane = user(server, "jane")
    try:
        d = daemon(conf(server))
        seen(server, d, jane)
        kill(server)
        d.wait_status("corp/jane", status="unknown")
        jane.close()
        server.start()
        d.wait_peer("corp", "Registered", 30)
        jane = user_again(server, "jane")
        jane.presence(show="xa", status="back after the restart")
        d.wait_status("corp/jane", status="away", text="back after the restart", timeout=20)
    finally:
        jane.close()


def test_imsend_from_the_component(server, daemon):
    jane = user(server, "jane")
    try:
        d = daemon(conf(server))
        seen(server, d, jane)
        v = asterisk.agi(d.agi_port, "agi://127.0.0.1/IMSend,corp/jane/your voicemail: 1 new <msg> & more").vars
        assert v["IM-SENDSTATUS"] == "SENT", v
        m = jane.wait_message(lambda m: "voicemail" in m[1])
        assert m[0].startswith(COMPONENT) and m[1] == "your voicemail: 1 new <msg> & more"
    finally:
        jane.close()
