"""Proves the fake AMI faithful: every recorded ami-* client side, replayed
against ami.Manager, gets the answers Asterisk 22 gave (responses, and the
events that carry the action's ActionID), and our call-file reader agrees
with what Asterisk did with each recorded call file."""
import glob
import json
import os
import re
import threading

import pytest

import ami

REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference", "asterisk22")
CAPTURES = sorted(glob.glob(os.path.join(REF, "raw", "ami-*.json")))
# Actions the fake implements; answers to others are not compared.
IMPLEMENTED = {"login", "ping", "logoff", "events", "devicestatelist", "extensionstatelist",
               "presencestatelist", "queuestatus", "queuepause",
               "userevent", "originate", "challenge", "setvar", "getvar"}
STABLE = ["Response", "Event", "ActionID", "Message", "EventList", "ListItems", "Ping", "Events",
          "Device", "State", "Reason", "UserEvent", "Context", "Exten", "Application", "Data",
          "Variable", "Value", "Hint", "Status", "StatusText", "Presentity", "Subtype", "Queue",
          "Location", "Paused", "PausedReason"]


def chunks(path):
    with open(path) as f:
        return [(c["dir"], bytes.fromhex(c["hex"])) for c in json.load(f) if "dir" in c]


def shape(msg):
    keys = [k for k, _ in msg]
    return [keys[:2]] + [(k, ami.get(msg, k)) for k in STABLE if ami.get(msg, k) is not None]


def is_answer(msg):
    return ami.get(msg, "Response") is not None and ami.get(msg, "Event") is None or \
        (ami.get(msg, "Event") is not None and ami.get(msg, "ActionID") is not None)


def test_captures_present():
    assert len(CAPTURES) >= 10


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: os.path.basename(p)[:-5])
def test_replay(path):
    cs = chunks(path)
    s_all = b"".join(d for k, d in cs if k == "S")
    recorded = ami.parse_messages(s_all)
    fake = ami.FakeAmi.__new__(ami.FakeAmi)  # the state, without a socket
    fake.users = {"test": "test", "imstatus": "another-s3cret"}
    # The recorded challenges, in order, so the recorded keys are right.
    challenges = iter([ami.get(m, "Challenge") for m in recorded if ami.get(m, "Challenge")])
    fake.challenge = lambda: next(challenges)
    fake.devices = {ami.get(m, "Device"): ami.get(m, "State") for m in recorded
                    if ami.get(m, "Event") == "DeviceStateChange" and ami.get(m, "ActionID")}
    fake.hints = {(ami.get(m, "Context"), ami.get(m, "Exten")): (ami.get(m, "Hint"),
                                                                 ami.get(m, "StatusText"))
                  for m in recorded if ami.get(m, "Event") == "ExtensionStatus" and ami.get(m, "ActionID")}
    reasons = {ami.get(m, "Channel"): ami.get(m, "Reason") for m in recorded
               if ami.get(m, "Event") == "OriginateResponse"}
    fake.originate_reason = lambda ch: reasons.get(ch, reasons.get(ch.split("-0")[0], "4")) or "4"
    fake.actions, fake.logins, fake.user_events, fake.originates = [], [], [], []
    fake.globals = {}
    fake.custom_presence = {ami.get(m, "Presentity"): (ami.get(m, "Status"), ami.get(m, "Subtype"),
                                                       ami.get(m, "Message"))
                            for m in recorded
                            if ami.get(m, "Event") == "PresenceStateChange" and ami.get(m, "ActionID")}
    fake.queues, fake.queue_actions = {}, []
    for m in recorded:  # each queue and member as first listed, before any pause
        if ami.get(m, "Event") == "QueueParams" and ami.get(m, "ActionID"):
            fake.queues.setdefault(ami.get(m, "Queue"), {})
        if ami.get(m, "Event") == "QueueMember" and ami.get(m, "ActionID"):
            fake.queues[ami.get(m, "Queue")].setdefault(ami.get(m, "Location"), {
                "name": ami.get(m, "Name"), "state": ami.get(m, "StateInterface"),
                "paused": ami.get(m, "Paused") == "1", "reason": ami.get(m, "PausedReason")})
    fake._lock, fake._sessions = threading.Lock(), []  # no sockets: events go nowhere

    ours, skip_ids, pending, mgr = [], set(), b"", None
    for kind, data in cs:
        if kind == "S":
            if ami.GREETING in data:
                mgr = ami.Manager(fake)  # a new connection
            continue
        msgs, pending = ami.take_messages(pending + data)
        for msg in msgs:
            action = (ami.get(msg, "Action") or "").lower()
            if ami.get(msg, "Action") is not None and action not in IMPLEMENTED:
                skip_ids.add(ami.get(msg, "ActionID"))
                continue
            for _, out in mgr.handle(msg):
                ours += ami.parse_messages(out)
    want = [shape(m) for m in recorded if is_answer(m) and ami.get(m, "ActionID") not in skip_ids]
    got = [shape(m) for m in ours if is_answer(m)]
    assert want or "B09" in path, "nothing compared"
    assert got == want


CALLFILE_TXT = sorted(glob.glob(os.path.join(REF, "callfile-*.txt")))


def written_and_log(path):
    """The call file as written (the C: lines before Asterisk touched it) and
    pbx_spool's complaints from messages.log, without the file path."""
    text, log = "", []
    with open(path) as f:
        for line in f:
            if line.startswith("C: "):
                body = line[3:].rstrip("\n")
                text += body[:-2] + "\n" if body.endswith("\\n") else body
            for pat in ("Unknown keyword", "Syntax error", "Invalid file contents"):
                if pat in line and "pbx_spool.c" in line:
                    msg = line.split("pbx_spool.c: ", 1)[1].strip()
                    log.append(re.sub(r" (of|in) <prefix>[^ ,]+", "", msg))
    return text, log


@pytest.mark.parametrize("path", CALLFILE_TXT, ids=lambda p: os.path.basename(p)[9:-4])
def test_callfile_reader_agrees_with_asterisk(path):
    text, recorded = written_and_log(path)
    assert text, "no call file in the transcript"
    fields, log = ami.read_callfile(text)
    assert log == recorded
