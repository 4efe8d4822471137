"""Against a real Asterisk 22 (tests/integration/real_asterisk.py; skipped with
one line where there is none): the manager login by MD5 challenge, and the
FastAGI contract through Asterisk's own res_agi with hostile presence."""
import os
import re

import pytest

import real_asterisk
from harness import DOMAIN, peer_conf, wait_for


@pytest.fixture
def asterisk(tmp_path):
    binary = real_asterisk.require_asterisk()
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary)
    a.start()
    yield a
    a.stop()


def test_md5_challenge_login(asterisk, prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody),
               general_extra=f"amihost = 127.0.0.1\namiport = {asterisk.ami_port}\n"
                             "amiuser = imstatus\namisecret = another-s3cret\n")
    wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")
    assert "imstatus" in asterisk.rx("manager show connected")


def test_md5_challenge_wrong_secret(asterisk, prosody, robot, daemon):
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody),
               general_extra=f"amihost = 127.0.0.1\namiport = {asterisk.ami_port}\n"
                             "amiuser = imstatus\namisecret = not-the-secret\n")
    wait_for(lambda: "AMI login as 'imstatus'" in d.read_log(), 20, what="the failure")
    assert "Authentication failed" in d.read_log()
    assert "not-the-secret" not in d.read_log()


SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "extensions.conf.sample")


@pytest.mark.parametrize("uri,dialled", [
    ("sip:6001@pbx.example.org", "PJSIP/6001,30"),
    ("sip:6001@evil.example", None),
    ("sip:19005550100@pbx.example.org", None),
    ("tel:+19005550100", None),
    ("sip:6001@pbx.example.org;x@evil.example", None),
    ("", None),
])
def test_sample_follows_status_uris_only_to_own_extensions(tmp_path, uri, dialled):
    """extensions.conf.sample's [imstatus-follow], run by the real Asterisk:
    a status URI a buddy controls reaches Dial() only as an own extension."""
    binary = real_asterisk.require_asterisk()
    with open(SAMPLE) as f:
        sample = f.read()
    test_ctx = ("\n[followtest]\nexten => s,1,Gosub(imstatus-follow,s,1(${TESTURI}))\n"
                " same => n,UserEvent(FollowReturned)\n same => n,Hangup()\n")
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, extensions=sample + test_ctx)
    a.start()
    try:
        a.rx("core set verbose 5")
        a.rx(f"dialplan set global TESTURI {uri}")
        a.rx("channel originate Local/s@followtest application Wait 1")
        wait_for(lambda: "FollowReturned" in a.output() or "Dial(" in a.output(), 15,
                 what="the dialplan to run")
        out = a.output()
        dials = re.findall(r'Dial\("[^"]*", "([^"]*)"\)', out)
        if dialled:
            assert dials == [dialled], out[-2000:]
        else:
            assert dials == [], out[-2000:]
            assert "FollowReturned" in out
    finally:
        a.stop()


@pytest.mark.parametrize("trusted", [True, False], ids=["our-ca", "unknown-ca"])
def test_ami_over_tls(tmp_path, ca, prosody, robot, daemon, trusted):
    """amitls: Asterisk's manager over TLS (manager.conf tlsenable), its
    certificate checked against amicafile; an unknown CA is refused."""
    from harness import free_port, make_ca, make_server_cert
    binary = real_asterisk.require_asterisk()
    cert, key = make_server_cert(str(tmp_path), *ca)
    tls_port = free_port()
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary, manager_extra=(
        f"tlsenable = yes\ntlsbindaddr = 127.0.0.1:{tls_port}\ntlscertfile = {cert}\n"
        f"tlsprivatekey = {key}\n"))
    a.start()
    try:
        cafile = ca[0] if trusted else make_ca(str(tmp_path / "other"), "other-CA")[0]
        d = daemon(peer_conf("aim1", robot[0], robot[1], prosody),
                   general_extra=f"amihost = 127.0.0.1\namiport = {tls_port}\namitls = yes\n"
                                 f"amicafile = {cafile}\namiuser = imstatus\n"
                                 "amisecret = another-s3cret\n")
        if trusted:
            wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI over TLS")
        else:
            wait_for(lambda: f"AMI: TLS to 127.0.0.1:{tls_port} failed" in d.read_log(), 20,
                     what="the certificate refused")
            assert "device states in sync" not in d.read_log()
    finally:
        a.stop()


def test_presencehints_reach_a_real_hint(tmp_path, prosody, robot, buddies, daemon):
    binary = real_asterisk.require_asterisk()
    a = real_asterisk.Asterisk(str(tmp_path / "asterisk"), binary,
                               extensions="[lamps]\nexten => 6002,hint,Custom:aim1:buckaroo"
                                          ",CustomPresence:aim1:buckaroo\n")
    a.start()
    try:
        b = buddies("buckaroo")
        d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]),
                   general_extra=f"amihost = 127.0.0.1\namiport = {a.ami_port}\n"
                                 "amiuser = imstatus\namisecret = another-s3cret\n"
                                 "presencehints = yes\n")
        wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")
        b.presence(show="dnd", status="on the phone, sorry")
        wait_for(lambda: re.search(r"6002@lamps\s*: Custom:aim1:buckaroo.*State:InUse\s+"
                                   r"Presence:dnd", a.rx("core show hints")), 15,
                 what="the hint to follow")
        c, f = real_asterisk.ami_session(a.ami_port)
        real_asterisk.ami_send(f, [("Action", "Login"), ("Username", "imstatus"),
                                   ("Secret", "another-s3cret"), ("Events", "off")])
        real_asterisk.ami_read(f)
        real_asterisk.ami_send(f, [("Action", "Getvar"), ("Variable",
                                   "PRESENCE_STATE(CustomPresence:aim1:buckaroo,message)")])
        assert real_asterisk.ami_read(f)["Value"] == "on the phone, sorry"
        c.close()
        b.presence(status="free")
        wait_for(lambda: re.search(r"6002@lamps.*State:Idle\s+Presence:available",
                                   a.rx("core show hints")), 15, what="idle again")
    finally:
        a.stop()


def test_web_click_to_dial_rings_through_a_real_asterisk(tmp_path, prosody, robot, buddies,
                                                          daemon):
    """POST /api/v1/dial: the webuser's phone (a Local channel that answers)
    is rung, then the buddy's status URI runs in the dialcontext."""
    import base64
    import http.client
    import json
    from harness import free_port
    binary = real_asterisk.require_asterisk()
    a = real_asterisk.Asterisk(
        str(tmp_path / "asterisk"), binary,
        extensions="[phones]\nexten => desk,1,Answer()\n same => n,Wait(10)\n"
                   "[imstatus-dial]\nexten => uri,1,Set(DB(ims/dialled)=${IMSTATUS_DIAL})\n"
                   " same => n,Hangup()\n")
    a.start()
    try:
        b = buddies("buckaroo")
        port = free_port()
        d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"],
                             extra="dialcontext = imstatus-dial\ndialtargets = extensions, +1215*, sip:*@pbx.example.org")
                   + "[carol]\ntype = webuser\nsecret = carol-pw\ndial = yes\n"
                     "phone = Local/desk@phones\n",
                   general_extra=f"amihost = 127.0.0.1\namiport = {a.ami_port}\n"
                                 "amiuser = imstatus\namisecret = another-s3cret\n"
                                 f"httpbind = 127.0.0.1:{port}\n")
        wait_for(lambda: "device states in sync" in d.read_log(), 20, what="AMI login")
        b.presence(show="away", status="mobile: sip:1234@pbx.example.org")
        d.wait_status("aim1/buckaroo", status="away")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/api/v1/dial", body=json.dumps({"peer": "aim1", "user": "buckaroo"}),
                  headers={"Content-Type": "application/json", "Authorization": "Basic "
                           + base64.b64encode(b"carol:carol-pw").decode()})
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())["calling"] == "Local/desk@phones"
        c.close()
        wait_for(lambda: "Value: sip:1234@pbx.example.org" in a.rx("database get ims dialled"),
                 20, what="the dialcontext to run with the buddy's URI")
    finally:
        a.stop()
