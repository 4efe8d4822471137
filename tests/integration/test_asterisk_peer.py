"""Proves the fake Asterisk faithful: every recorded agi-* client side, replayed
against it, gets the bytes the real Asterisk 22 sent."""
import glob
import json
import os

import pytest

import asterisk

REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference", "asterisk22")
CAPTURES = sorted(glob.glob(os.path.join(REF, "raw", "agi-*.json")))
ASYNC = b"HANGUP\n"


def strip_async(data):
    return b"".join(l for l in data.splitlines(keepends=True) if l != ASYNC)


def load(path):
    with open(path) as f:
        return [(c["dir"], bytes.fromhex(c["hex"])) if "dir" in c else ("note", c["note"].encode())
                for c in json.load(f)]


@pytest.fixture(scope="module")
def dialplan():
    with open(os.path.join(REF, "reference", "extensions.conf.used")) as f:
        return asterisk.Dialplan.from_conf(f.read())


def test_captures_present():
    assert len(CAPTURES) >= 20, f"reference transcripts not found under {REF}"


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: os.path.basename(p)[:-5])
def test_replay(path, dialplan):
    chunks = load(path)
    if not any(k == "S" for k, _ in chunks):
        pytest.skip("nothing on the wire (connection refused)")
    s_all = b"".join(d for k, d in chunks if k == "S")
    env_end = s_all.find(b"\n\n") + 2 if not s_all.startswith(b"\n") else 1
    env_bytes = s_all[:env_end]
    env = dict(l.split(": ", 1) for l in env_bytes.decode().splitlines() if ": " in l)
    chan = asterisk.Channel(name=env["agi_channel"], context=env["agi_context"],
                            exten=env["agi_extension"], priority=int(env["agi_priority"]),
                            uniqueid=env["agi_uniqueid"], dialplan=dialplan)
    # The environment, in order, byte for byte (but the thread id).
    args = [env[f"agi_arg_{i}"] for i in range(1, 100) if f"agi_arg_{i}" in env]
    ours = b"".join(asterisk.environment(env["agi_request"], args, chan))
    theirs = env_bytes.replace(env["agi_threadid"].encode(), b"140193411811008")
    assert ours == theirs

    interp = asterisk.Interpreter(chan)
    seen_s, pending, replies, closed = 0, b"", b"", False
    for kind, data in chunks:
        if kind == "note":
            if b"Requested Hangup on channel" in data:
                chan.dead = True  # `channel request hangup` from the CLI
            continue
        if kind == "S":
            seen_s += len(data)
            if seen_s > env_end and ASYNC in data.splitlines(keepends=True):
                if data.count(ASYNC) >= 2 and not interp.pending_hangup:
                    closed = True  # AGIEXITONHANGUP: Asterisk is gone
                chan.dead = True
            continue
        pending += data
        lines = asterisk.fgets_lines(pending)
        for cmd in lines[:-1]:
            if not closed:
                replies += interp.execute(cmd)
        pending = lines[-1]
    if pending and not closed:
        replies += interp.execute(pending)  # a last command without LF (agi-A7d)
    assert replies == strip_async(s_all[env_end:])


def test_word_splitting_rules():
    s = asterisk.split_words
    assert s(b'SET VARIABLE IM-STATUSTEXT "he said \\"hi\\" \\\\ back"') == [
        b"SET", b"VARIABLE", b"IM-STATUSTEXT", b'he said "hi" \\ back']
    assert s(b'SET VARIABLE V_MIDQ ab"c d"ef') == [b"SET", b"VARIABLE", b"V_MIDQ", b"abc def"]
    assert s(b'SET VARIABLE V_BSN "a\\nb\\tc"')[-1] == b"anbtc"
    assert s(b'SET VARIABLE V_EMPTY ""')[-1] == b""
    assert s(b'SET VARIABLE V "abc def')[-1] == b"abc def"


def test_dialplan_argument_splitting():
    a = asterisk.split_app_args
    assert a("agi://127.0.0.1/IMStatus,aim1/buckaroo,gW(500)") == [
        "agi://127.0.0.1/IMStatus", "aim1/buckaroo", "gW(500)"]
    assert a("agi://127.0.0.1/IMSend,aim1/buckaroo/Hello\\, world / slashes")[1] == \
        "aim1/buckaroo/Hello, world / slashes"
    assert a('x,"quoted, with comma",,  lead space,a\\"q')[1:] == [
        "quoted, with comma", "", "  lead space", 'a"q']
