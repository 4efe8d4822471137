"""Against a real Asterisk 22 (tests/integration/real_asterisk.py; skipped with
one line where there is none): the manager login by MD5 challenge, and the
FastAGI contract through Asterisk's own res_agi with hostile presence."""
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
