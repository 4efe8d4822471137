"""Logins that fail, servers that go away, reloads and shutdown."""
import os
import subprocess
import time

from harness import DOMAIN, IMSTATUSD, Buddy, make_ca, peer_conf, wait_for


def attempts(d):
    return d.read_log().count("libpurple account: Connecting to account")


def test_wrong_password_fails_fast_without_hammering(prosody, robot, daemon):
    t0 = time.monotonic()
    d = daemon(peer_conf("aim1", robot[0], "wrong-password", prosody))
    p = d.wait_peer("aim1", "Failed", timeout=10)
    assert time.monotonic() - t0 < 10
    assert "password" in p["reason"]
    shown = d.imctl("show", "peers").stdout
    assert "Failed: " in shown
    assert "wrong-password" not in shown + d.read_log()
    # Backoff would have retried within ~1 s; a failed login must not retry at all.
    time.sleep(3)
    assert attempts(d) == 1
    assert d.peer("aim1")["status"] == "Failed"


def test_untrusted_ca_fails_naming_tls(prosody, robot, daemon, tmp_path):
    other_ca, _ = make_ca(str(tmp_path / "otherca"), "some-other-CA")
    conf = peer_conf("aim1", robot[0], robot[1], prosody).replace(prosody.ca_pem, other_ca)
    d = daemon(conf)
    p = d.wait_peer("aim1", "Failed", timeout=10)
    assert "TLS" in p["reason"]
    assert "Failed: TLS" in d.imctl("show", "peers").stdout
    assert "answered no" in d.read_log()


def test_unsupported_types_leave_others_running(prosody, robot, daemon):
    conf = peer_conf("aim1", robot[0], robot[1], prosody) + (
        "\n[gone]\ntype = nosuchnet\nusername = 12345678\nsecret = x\n"
        "\n[qq1]\ntype = qq\nusername = pinky\nsecret = y\n")
    d = daemon(conf)
    d.wait_peer("aim1", "Registered")
    gone = d.peer("gone")
    assert gone["status"] == "Unsupported"
    assert "no libpurple plugin 'prpl-nosuchnet'" in gone["reason"]
    assert d.peer("qq1")["status"] == "Unsupported"
    assert "no libpurple plugin 'prpl-qq'" in d.peer("qq1")["reason"]
    assert "Unsupported: no libpurple plugin 'prpl-nosuchnet'" in d.imctl("show", "peers").stdout
    assert d.status("gone/buckaroo")["result"] == "NOTCONNECTED"


def test_prosody_restart_unknown_then_back(prosody, robot, buddies, daemon):
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]))
    d.wait_peer("aim1", "Registered")
    b.presence(show="away", status="back soon")
    d.wait_status("aim1/buckaroo", status="away")

    b.close()
    prosody.stop()
    s = d.wait_status("aim1/buckaroo", status="unknown", timeout=10)
    assert s["result"] == "NOTCONNECTED"
    assert d.peer("aim1")["status"] == "Connecting"

    prosody.start()
    t0 = time.monotonic()
    b2 = Buddy(f"buckaroo@{DOMAIN}", "buckaroo-pw", prosody.port, prosody.ca_pem)
    try:
        b2.presence(show="away", status="back soon")
        d.wait_status("aim1/buckaroo", status="away", text="back soon", timeout=10)
        assert time.monotonic() - t0 <= 10
        assert d.peer("aim1")["status"] == "Registered"
    finally:
        b2.close()


def test_reload_add_remove_change(prosody, robot, buddies, daemon):
    prosody.register("robot2", "robot2-pw")
    prosody.register("robot3", "robot3-pw")
    b = buddies("buckaroo")
    keep = peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"],
                     extra="statusmessage = keep me")
    change = peer_conf("aim2", f"robot2@{DOMAIN}", "robot2-pw", prosody, subscribe=["buckaroo"],
                       extra="statusmessage = before")
    d = daemon(keep + change)
    d.wait_peer("aim1", "Registered")
    d.wait_peer("aim2", "Registered")
    d.wait_status("aim2/buckaroo", subscription="both")
    b.wait_presence(f"robot2@{DOMAIN}", lambda v: v[2] == "before")

    changed = change.replace("statusmessage = before", "statusmessage = after")
    added = peer_conf("aim3", f"robot3@{DOMAIN}", "robot3-pw", prosody)
    d.write_conf(keep + changed + added)
    assert d.imctl("reload").stdout.strip() == "reloaded"
    d.wait_peer("aim3", "Registered")
    d.wait_peer("aim2", "Registered")
    b.wait_presence(f"robot2@{DOMAIN}", lambda v: v[2] == "after")
    log = d.read_log()
    assert log.count("aim1: logged in as") == 1, "an unchanged peer must stay connected"
    assert log.count("aim2: logged in as") == 2

    # Remove aim2: it logs out (the buddy sees it leave) and disappears.
    d.write_conf(keep + added)
    d.imctl("reload")
    b.wait_presence(f"robot2@{DOMAIN}", lambda v: v[0] == "unavailable")
    names = [p["name"] for p in d.json("show", "peers")]
    assert names == ["aim1", "aim3"]

    # A broken config is refused; the running one stays.
    d.write_conf(keep + added + "\n[broken]\ntype = jabber\nbogus = 1\n")
    r = d.imctl("reload", check=False)
    assert r.returncode != 0
    assert "im.conf:" in r.stderr and "unknown key 'bogus'" in r.stderr
    assert [p["name"] for p in d.json("show", "peers")] == ["aim1", "aim3"]
    assert d.peer("aim1")["status"] == "Registered"


def test_sighup_reloads(prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody))
    d.wait_peer("aim1", "Registered")
    d.write_conf(peer_conf("aim1", robot[0], robot[1], prosody)
                 + "\n[aim9]\ntype = aim\nusername = x\nhost = 127.0.0.1\nport = 9\n")
    d.proc.send_signal(1)
    wait_for(lambda: any(p["name"] == "aim9" for p in d.json("show", "peers")), 10,
             what="aim9 after SIGHUP")


def test_sigterm_logs_out(prosody, robot, buddies, daemon):
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]))
    d.wait_status("aim1/buckaroo", subscription="both")
    b.wait_presence(robot[0], lambda v: v[0] == "available")
    assert d.stop() == 0
    b.wait_presence(robot[0], lambda v: v[0] == "unavailable")
    assert not os.path.exists(d.socket)


def test_restart_reuses_account_and_keeps_password_off_disk(prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody))
    d.wait_peer("aim1", "Registered")
    d.stop()
    d.start()
    d.wait_peer("aim1", "Registered")
    d.stop()
    purple = os.path.join(d.statedir, "purple")
    assert oct(os.stat(purple).st_mode & 0o777) == "0o700"
    with open(os.path.join(purple, "accounts.xml")) as f:
        accounts = f.read()
    assert accounts.count("<account>") == 1
    for root, _, files in os.walk(d.statedir):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                assert robot[1].encode() not in f.read(), f"password in {name}"


def test_second_daemon_refuses_live_socket(prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody))
    r = subprocess.run([IMSTATUSD, "-f", "-c", d.conf], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "already running" in r.stderr
    assert d.peer("aim1")["name"] == "aim1"


def test_imctl_cannot_reach(tmp_path):
    from harness import IMCTL
    r = subprocess.run([IMCTL, "-s", str(tmp_path / "none.sock"), "show", "peers"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert r.stderr.startswith(f"imctl: cannot reach imstatusd at {tmp_path}/none.sock: ")


def test_control_socket_garbage_huge_and_silent(prosody, robot, daemon):
    """Bad control clients get an error or a timeout; others are not disturbed."""
    import socket as s_
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody), general_extra="controltimeout = 2")
    d.wait_peer("aim1", "Registered")

    def client():
        c = s_.socket(s_.AF_UNIX, s_.SOCK_STREAM)
        c.settimeout(10)
        c.connect(d.socket)
        f = c.makefile("rb")
        assert f.readline() == b"%imstatus 1\n"
        return c, f

    def reply(f):
        lines = [f.readline()]
        while not lines[-1].startswith((b"%end", b"%error")) and lines[-1]:
            lines.append(f.readline())
        return lines

    silent, sf = client()
    g, gf = client()
    g.sendall(b"\x00\xff garbage\n")
    r = reply(gf)
    assert r[0].startswith(b"%begin") and r[-1].startswith(b"%error")
    g.sendall(b"frobnicate now\n")
    assert b"unknown command 'frobnicate'" in b"".join(reply(gf))
    h, hf = client()
    h.sendall(b"x" * 70000)
    r = reply(hf)
    assert r[1] == b"command line too long\n" and r[-1].startswith(b"%error")
    assert hf.readline() == b""  # and the connection is closed
    # A well-behaved client is served meanwhile, on the same daemon.
    assert d.peer("aim1")["status"] == "Registered"
    # The silent one is told and dropped after controltimeout.
    r = reply(sf)
    assert r[1] == b"timeout: no command\n"
    assert sf.readline() == b""
    for c in (silent, g, h):
        c.close()


def test_check_mode_good_and_bad(tmp_path):
    good = tmp_path / "good.conf"
    good.write_text("[general]\nstatedir = /tmp/x\n\n[aim1]\ntype = jabber\n"
                    "username = robot@example.org\nsecret = s3cret\nsubscribe = buckaroo\n")
    good.chmod(0o600)
    r = subprocess.run([IMSTATUSD, "-n", "-c", str(good)], capture_output=True, text=True, timeout=10)
    assert (r.returncode, r.stdout, r.stderr) == (0, "configuration OK\n", "")
    good.chmod(0o644)
    r = subprocess.run([IMSTATUSD, "-n", "-c", str(good)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "readable by other users (mode 0644)" in r.stderr
    assert "s3cret" not in r.stderr + r.stdout
    bad = tmp_path / "bad.conf"
    bad.write_text("[aim1]\ntype = jabber\nusername = robot@example.org\nsubscibe = x\nport = 99999\n"
                   "[aim1]\n")
    r = subprocess.run([IMSTATUSD, "-n", "-c", str(bad)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and r.stdout == ""
    assert f"{bad}:4: unknown key 'subscibe' in [aim1]" in r.stderr
    assert f"{bad}:5: port: '99999' is not a number from 1 to 65535" in r.stderr
    assert f"{bad}:6: section [aim1] defined twice (first at {bad}:1)" in r.stderr
    assert r.stderr.rstrip().endswith("configuration has errors, not starting")
    r = subprocess.run([IMSTATUSD, "-n", "-c", str(tmp_path / "missing.conf")],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "missing.conf" in r.stderr


def test_debug_intense_redacts_secrets(prosody, robot, buddies, daemon):
    b = buddies("buckaroo")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]), debug=2)
    d.wait_status("aim1/buckaroo", subscription="both")
    assert d.imctl("debug", "intense").stdout == "debug intense\n"
    b.send_message(robot[0], f"this mentions {robot[1]} in passing")
    wait_for(lambda: "in passing" in d.read_log(), 10, what="the raw message in the log")
    log = d.read_log()
    assert "Sending" in log and "Recv" in log  # raw XMPP traffic is there
    assert "[redacted]" in log  # the SASL exchange, without its data
    assert robot[1] not in log
    assert d.imctl("debug", "off").stdout == "debug off\n"


def test_debug_intense_redacts_xml_escaped_dialsecret(prosody, robot, buddies, daemon):
    """A dialsecret with XML's special characters travels escaped in the raw
    traffic: it is redacted in that form too, and the driver never sees it."""
    boss = buddies("boss")
    secret = "d1al&<s3cret>'"
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["boss"],
                         extra=f"dialallow = boss@{DOMAIN}\ndialsecret = \"{secret}\"\n"
                               "dialfrom = PJSIP/jimmy\ndialcontext = imstatus-dial"),
               general_extra="spooldir = /nonexistent/outgoing", debug=2)
    d.wait_status("aim1/boss", subscription="both")
    boss.send_message(robot[0], f"dial {secret} 100")
    wait_for(lambda: "click-to-dial" in d.read_log(), 10, what="the request handled")
    log = d.read_log()
    for form in (secret, "d1al&amp;&lt;s3cret&gt;", "d1al&amp;&lt;s3cret&gt;&apos;",
                 "d1al&amp;&lt;s3cret&gt;&#39;"):
        assert form not in log, form
    assert "********" in log
