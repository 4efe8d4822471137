"""The faithful revival peers are faithful: each network's scenario, recorded
against the real revival server (tests/reference/revival/<net>-scenario.json,
by tests/reference/tools/record_revival.py), gives the same answers, step by
step, when run against the fake server the driver tests use."""
import json
import os

import pytest

import msnp
import oscar
import ymsg

REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference", "revival")


def recorded(net):
    with open(os.path.join(REF, f"{net}-scenario.json")) as f:
        return json.load(f)["steps"]


def test_oscar_fake_answers_as_owaim():
    server = oscar.FakeOscar()
    try:
        server.add_user("pinkys", "pinkys-pw")
        server.add_user("buckaroo", "buck-pw")
        got = oscar.scenario("127.0.0.1", server.auth_port, ("pinkys", "pinkys-pw"),
                             ("buckaroo", "buck-pw"), log=lambda line: None)
    finally:
        server.close()
    want = recorded("oscar")
    assert [s[0] for s in got] == [s[0] for s in want]
    for (name, lines), (_n, expected) in zip(got, want):
        assert lines == expected, f"step {name!r}: the fake said {lines}, OWAIM said {expected}"


def test_ymsg_fake_answers_as_escargot():
    server = ymsg.FakeYmsg()
    try:
        server.add_user("yalice", "alice-pw")
        server.add_user("ybob", "bob-pw")
        got = ymsg.scenario("127.0.0.1", server.port, ("yalice", "alice-pw"), ("ybob", "bob-pw"),
                            log=lambda line: None)
    finally:
        server.close()
    want = recorded("ymsg")
    assert [s[0] for s in got] == [s[0] for s in want]
    for (name, lines), (_n, expected) in zip(got, want):
        assert lines == expected, f"step {name!r}: the fake said {lines}, Escargot said {expected}"


def test_msnp_fake_answers_as_escargot():
    server = msnp.FakeMsn()
    try:
        server.add_user("malice@hotmail.com", "alice-pw")
        server.add_user("mbob@hotmail.com", "bob-pw")
        got = msnp.scenario(server.http_port, server.port, ("malice@hotmail.com", "alice-pw"),
                            ("mbob@hotmail.com", "bob-pw"), log=lambda line: None)
    finally:
        server.close()
    want = recorded("msnp")
    assert [s[0] for s in got] == [s[0] for s in want]
    for (name, lines), (_n, expected) in zip(got, want):
        assert lines == expected, f"step {name!r}: the fake said {lines}, Escargot said {expected}"
