"""Presence through a real Prosody and real slixmpp buddies."""
import datetime
import re
import time

import pytest

from harness import DOMAIN, peer_conf, wait_for


def iso_ago(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def world(prosody, robot, buddies, daemon):
    """The robot subscribed to buckaroo, janedoe and turtlehead (who never logs in)."""
    prosody.register("turtlehead", "turtle-pw")
    b = buddies("buckaroo")
    j = buddies("janedoe")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody,
                         subscribe=["buckaroo", "janedoe", "turtlehead"],
                         extra='statusmessage = "Pinky Caruthers Phone Presence Robot"'))
    d.wait_peer("aim1", "Registered")
    # The robot asked for subscription; the slixmpp buddies approve it.
    d.wait_status("aim1/buckaroo", subscription="both")
    d.wait_status("aim1/janedoe", subscription="both")
    return d, b, j


def test_show_peers_columns(world, prosody, robot):
    d, _, _ = world
    out = d.imctl("show", "peers").stdout.splitlines()
    assert re.split(r"\s{2,}", out[0]) == ["Name", "Type", "Host", "Port", "User", "Status"]
    row = re.split(r"\s{2,}", out[1])
    assert row == ["aim1", "jabber", "127.0.0.1", str(prosody.port), robot[0], "Registered"]
    # The password never shows up in imctl output or the log.
    assert robot[1] not in d.imctl("--json", "show", "peers").stdout
    assert robot[1] not in d.read_log()


@pytest.mark.parametrize("show,status", [
    (None, "online"), ("chat", "online"), ("away", "away"), ("xa", "away"), ("dnd", "busy"),
])
def test_status_words(world, show, status):
    d, b, _ = world
    b.presence(show=show, status=f"text for {show}")
    s = d.wait_status("aim1/buckaroo", status=status, text=f"text for {show}")
    assert s["result"] == "OK" and s["idle"] == 0 and s["resource"] == "phone"


def test_idle_xep0319(world):
    d, b, _ = world
    t0 = time.time()
    b.presence(idle_since=iso_ago(300))
    s = d.wait_status("aim1/buckaroo", status="idle")
    assert 299 <= s["idle"] <= 301 + time.time() - t0


def test_idle_xep0256(world):
    d, b, _ = world
    t0 = time.time()
    b.presence(idle_seconds=140)
    s = d.wait_status("aim1/buckaroo", status="idle")
    assert 139 <= s["idle"] <= 141 + time.time() - t0


def test_offline_and_never_logged_in(world):
    d, b, j = world
    d.wait_status("aim1/janedoe", status="online")
    j.unavailable()
    s = d.wait_status("aim1/janedoe", status="offline", result="OK")
    assert s["lastseen"] == 0 and s["lastseen_at"] is not None
    # turtlehead never logged in: subscription is pending (he never approved).
    t = d.status("aim1/turtlehead")
    assert t["status"] == "unknown" and t["result"] == "PENDING" and t["lastseen_at"] is None


def test_show_subscribed_table(world):
    d, b, j = world
    b.presence(show="away", status="lunch")
    d.wait_status("aim1/buckaroo", status="away")
    j.unavailable()
    d.wait_status("aim1/janedoe", status="offline")
    rows = [re.split(r"\s{2,}", l) for l in d.imctl("show", "subscribed", "aim1").stdout.splitlines()]
    assert rows[0] == ["Name", "Status", "Idle", "Lastseen"]
    assert rows[1:] == [["buckaroo", "away", "0", "0"], ["janedoe", "offline", "0", "0"],
                        ["turtlehead", "unknown", "0", "0"]]
    one = d.imctl("show", "subscribed", "aim1|buckaroo").stdout.splitlines()
    assert len(one) == 2 and one[1].startswith("buckaroo")
    bad = d.imctl("show", "subscribed", "nosuchpeer", check=False)
    assert bad.returncode != 0 and "nosuchpeer" in bad.stderr


def test_status_text_prefix_and_uri(world):
    d, b, _ = world
    b.presence(status="mobile: call me at sip:12156667777@pbx.example.org or tel:+12155550100")
    s = d.wait_status("aim1/buckaroo", prefix="mobile")
    assert s["uri"] == "sip:12156667777@pbx.example.org"
    out = d.imctl("status", "aim1/buckaroo").stdout
    assert "IM-STATUSPREFIX=mobile\n" in out
    assert "IM-STATUSURI=sip:12156667777@pbx.example.org\n" in out
    assert "IM-RESULT=OK\n" in out


def test_hostile_status_text_is_one_line(world):
    d, b, _ = world
    # XML carries LF and TAB (a raw CR arrives as LF; C0 controls are not XML).
    b.presence(status='evil\nIM-RESULT=OK\t"quoted" ${X} $[1+1]')
    want = 'evil IM-RESULT=OK "quoted" ${X} $[1+1]'
    s = d.wait_status("aim1/buckaroo", status="online", text=want)
    assert s["text"] == want
    lines = d.imctl("status", "aim1/buckaroo").stdout.splitlines()
    assert len(lines) == 9 and [l.split("=")[0] for l in lines].count("IM-RESULT") == 1


def test_two_resources_most_available(world, buddies):
    d, b, _ = world
    b.presence(show="away", status="phone away", priority=5)
    d.wait_status("aim1/buckaroo", status="away")
    desk = buddies("buckaroo", resource="desk", register=False)
    desk.presence(status="at my desk", priority=1)
    # The desk's first presence (empty, at session start) may be seen first:
    # wait for the one that carries its text.
    d.wait_status("aim1/buckaroo", status="online", resource="desk", text="at my desk")
    # Same availability: the higher priority wins.
    b.presence(status="phone online", priority=5)
    d.wait_status("aim1/buckaroo", status="online", resource="phone", text="phone online")
    # The better resource leaves: the other one answers.
    b.unavailable()
    d.wait_status("aim1/buckaroo", status="online", resource="desk", text="at my desk")


def test_not_subscribed_and_own_name(world, robot):
    d, _, _ = world
    s = d.status("aim1/misspiggy20")
    assert (s["status"], s["result"]) == ("unknown", "NOTSUBSCRIBED")
    s = d.status(f"aim1/{robot[0].split('@')[0]}")
    assert (s["status"], s["result"]) == ("online", "OK")
    s = d.status("nosuch/buckaroo")
    assert s["result"] == "NOPEER"


def test_send_unicode_and_4k(world):
    d, b, _ = world
    text = "Ünïcødé ☎ <b>&amp; \"quotes\" / slashes, commas"
    assert d.imctl("send", "aim1/buckaroo", text).stdout.strip() == "SENT"
    frm, body = b.wait_message(lambda m: m[1] == text)
    assert frm.startswith("robot@" + DOMAIN)
    big = ("0123456789abcdé" * 300)[:4096]
    assert d.imctl("send", "aim1/buckaroo", big).stdout.strip() == "SENT"
    b.wait_message(lambda m: m[1] == big)
    multi = "line one\nline two"
    assert d.imctl("send", "aim1/buckaroo", multi).stdout.strip() == "SENT"
    b.wait_message(lambda m: m[1] == multi)


def test_subscription_request_from_stranger_denied(world, buddies, prosody):
    d, _, _ = world
    stranger = buddies("stranger")
    stranger._call(lambda: stranger.xmpp.send_presence_subscription(pto=f"robot@{DOMAIN}"))
    wait_for(lambda: "ignored a subscription request (denied) from stranger@" + DOMAIN in d.read_log(), 10,
             what="the denial in the log")
    s = d.status("aim1/stranger")
    assert s["result"] == "NOTSUBSCRIBED"
