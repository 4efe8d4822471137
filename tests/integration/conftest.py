import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ami  # noqa: E402
import harness  # noqa: E402


def pytest_configure(config):
    if not os.path.exists(harness.IMSTATUSD):
        raise pytest.UsageError(f"{harness.IMSTATUSD} not built; run `make` first")


@pytest.fixture(scope="session")
def ca(tmp_path_factory):
    return harness.make_ca(str(tmp_path_factory.mktemp("ca")), "imstatus-test-CA")


XMPP_SERVER = os.environ.get("IMS_XMPP", "prosody")


@pytest.fixture
def prosody(tmp_path, ca):
    """The XMPP server: Prosody, or ejabberd with IMS_XMPP=ejabberd."""
    if XMPP_SERVER == "ejabberd":
        p = harness.Ejabberd(str(tmp_path / "ejabberd"), ca)
        p.start()
        yield p
        p.stop()
        p.cleanup()
        return
    p = harness.Prosody(str(tmp_path / "prosody"), ca)
    p.start()
    yield p
    p.stop()


@pytest.fixture
def buddies(prosody):
    """Factory: buddies('buckaroo', resource='desk') -> a logged-in Buddy."""
    made = []

    def make(user, resource="phone", password=None, register=True, **kw):
        password = password or f"{user}-pw"
        if register:
            prosody.register(user, password)
        b = harness.Buddy(f"{user}@{harness.DOMAIN}", password, prosody.port, prosody.ca_pem,
                          resource=resource, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


@pytest.fixture
def daemon(tmp_path):
    """Factory: daemon(conf_text) -> a started Daemon; stopped at teardown."""
    made = []

    def make(conf, general_extra="", start=True, **kw):
        d = harness.Daemon(str(tmp_path / f"daemon{len(made)}"), conf, general_extra)
        made.append(d)
        return d.start(**kw) if start else d

    yield make
    for d in made:
        d.stop()
    for d in made:
        log = d.read_log() if os.path.exists(d.log) else ""
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "CRITICAL", "ERROR: LeakSanitizer"):
            assert marker not in log, f"{marker} in {d.log}:\n{log[-3000:]}"


@pytest.fixture
def robot(prosody):
    """Registers the robot account; returns (jid, password)."""
    return prosody.register("robot", "robot-secret-pw"), "robot-secret-pw"


@pytest.fixture
def fake_ami():
    """The faithful AMI peer with two phones: jimmy unregistered, desk idle."""
    f = ami.FakeAmi(devices={"PJSIP/jimmy": "UNAVAILABLE", "PJSIP/desk": "NOT_INUSE"})
    yield f
    f.stop()
