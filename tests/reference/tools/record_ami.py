"""Records the AMI transcripts this project added (ami-B11: the MD5
challenge login; ami-B12: Custom device and presence states set by Setvar;
ami-B13: a queue member paused and unpaused, and QueueStatus)
against a real Asterisk 22, started privately by
tests/integration/real_asterisk.py, in the format of the other transcripts:
a readable .txt and the raw bytes as JSON.

    /usr/bin/python3 tests/reference/tools/record_ami.py
"""
import hashlib
import json
import os
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(os.path.dirname(HERE), "asterisk22")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "integration"))
import real_asterisk  # noqa: E402



class Recorder:
    def __init__(self, port):
        self.t0 = time.monotonic()
        self.chunks = []
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.note(f"(TCP connected to 127.0.0.1:{port})")
        self.buf = b""

    def note(self, text):
        self.chunks.append({"t": round(time.monotonic() - self.t0, 6), "note": text})

    def send(self, pairs):
        data = b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs) + b"\r\n"
        self.chunks.append({"t": round(time.monotonic() - self.t0, 6), "dir": "C", "hex": data.hex()})
        self.sock.sendall(data)

    def read_until(self, end):
        while end not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                self.note("(recv() -> EOF: Asterisk closed the TCP connection)")
                break
            self.chunks.append({"t": round(time.monotonic() - self.t0, 6), "dir": "S",
                                "hex": data.hex()})
            self.buf += data
        out, _, self.buf = self.buf.partition(end)
        return out.decode()

    def message(self):
        text = self.read_until(b"\r\n\r\n")
        return dict(l.split(": ", 1) for l in text.split("\r\n") if ": " in l)


def text_of(chunks, title):
    lines = [f"# {title}", '# Client = "C", Asterisk manager = "S".', "#"]
    for c in chunks:
        if "note" in c:
            lines.append(f"# {c['note']}")
            continue
        data = bytes.fromhex(c["hex"]).decode()
        for l in data.split("\r\n")[:-1] if data.endswith("\r\n") else data.split("\r\n"):
            lines.append(f"{c['dir']}: {l}\\r\\n")
    return "\n".join(lines) + "\n"


def login(r, events="off"):
    r.send([("Action", "Challenge"), ("ActionID", "ch"), ("AuthType", "MD5")])
    ch = r.message()["Challenge"]
    key = hashlib.md5((ch + "another-s3cret").encode()).hexdigest()
    r.send([("Action", "Login"), ("ActionID", "login"), ("AuthType", "MD5"),
            ("Username", "imstatus"), ("Key", key), ("Events", events)])
    r.message()


def b11(port):
    r = Recorder(port)
    r.read_until(b"\r\n")
    r.note("Challenge, then Login with Key = md5(challenge + secret)")
    r.send([("Action", "Challenge"), ("ActionID", "ch-1"), ("AuthType", "MD5")])
    ch = r.message()["Challenge"]
    key = hashlib.md5((ch + "another-s3cret").encode()).hexdigest()
    r.send([("Action", "Login"), ("ActionID", "login-md5"), ("AuthType", "MD5"),
            ("Username", "imstatus"), ("Key", key), ("Events", "off")])
    r.message()
    r.send([("Action", "Logoff"), ("ActionID", "bye")])
    r.message()
    r.read_until(b"\0")
    r.sock.close()
    ok = r.chunks

    r = Recorder(port)
    r.read_until(b"\r\n")
    r.note("Challenge, then Login with a wrong Key")
    r.send([("Action", "Challenge"), ("ActionID", "ch-2"), ("AuthType", "MD5")])
    r.message()
    r.send([("Action", "Login"), ("ActionID", "login-bad"), ("AuthType", "MD5"),
            ("Username", "imstatus"), ("Key", "0" * 32)])
    r.message()
    r.read_until(b"\0")
    r.sock.close()
    return [("ami-B11-challenge-md5", ok, "B11: Challenge (MD5) and Login with the key"),
            ("ami-B11-challenge-md5-bad-key", r.chunks, "B11: Challenge (MD5), wrong key")]


def b12(port):
    """What presencehints sends: Setvar on DEVICE_STATE(Custom:...) and
    PRESENCE_STATE(CustomPresence:...) (message base64 with option e), and
    Getvar reading them back."""
    r = Recorder(port)
    r.read_until(b"\r\n")
    login(r)
    steps = [
        ("Setvar", [("Variable", "DEVICE_STATE(Custom:aim1:buckaroo)"), ("Value", "INUSE")]),
        ("Getvar", [("Variable", "DEVICE_STATE(Custom:aim1:buckaroo)")]),
        ("Setvar", [("Variable", "PRESENCE_STATE(CustomPresence:aim1:buckaroo)"),
                    ("Value", "dnd,,b24gdGhlIHBob25lLCAiYnVzeSI=,e")]),
        ("Getvar", [("Variable", "PRESENCE_STATE(CustomPresence:aim1:buckaroo,value)")]),
        ("Getvar", [("Variable", "PRESENCE_STATE(CustomPresence:aim1:buckaroo,message)")]),
        ("Setvar", [("Variable", "DEVICE_STATE(Custom:aim1:buckaroo)"), ("Value", "BOGUS")]),
        ("Setvar", [("Variable", "PRESENCE_STATE(CustomPresence:aim1:buckaroo)"),
                    ("Value", "bogus,,x")]),
    ]
    for i, (action, headers) in enumerate(steps):
        r.send([("Action", action), ("ActionID", f"b12-{i}")] + headers)
        r.message()
    r.send([("Action", "Logoff"), ("ActionID", "bye")])
    r.message()
    r.read_until(b"\0")
    r.sock.close()
    return [("ami-B12-custom-device-presence-setvar", r.chunks,
             "B12: Setvar/Getvar on DEVICE_STATE(Custom:) and PRESENCE_STATE(CustomPresence:)")]


QUEUES = ("[agents]\nstrategy = ringall\nmember => Local/205@agents,0,Jane,Custom:ph205\n"
          "[sales]\nstrategy = ringall\nmember => Local/205@agents,0,Jane,Custom:ph205\n"
          "member => Local/206@agents,0,Bob,Custom:ph206\n")


def b13(port):
    """What a person's DND does to her queue memberships: QueueStatus for
    one member (a QueueMember event per queue), QueuePause with a reason in
    every queue and in one, the QueueMemberPause events (Events: agent), and
    the errors for an unknown member and queue."""
    r = Recorder(port)
    r.read_until(b"\r\n")
    login(r, events="agent")
    member = "Local/205@agents"
    steps = [
        ("QueueStatus", [("Member", member)], "QueueStatusComplete"),
        ("QueuePause", [("Interface", member), ("Paused", "true"), ("Reason", "dnd")],
         "QueueMemberPause"),
        ("QueueStatus", [("Member", member)], "QueueStatusComplete"),
        ("QueuePause", [("Interface", member), ("Queue", "sales"), ("Paused", "false")],
         "QueueMemberPause"),
        ("QueueStatus", [("Member", member)], "QueueStatusComplete"),
        ("QueuePause", [("Interface", member), ("Paused", "false")], "QueueMemberPause"),
        ("QueuePause", [("Interface", "Local/999@agents"), ("Paused", "true"),
                        ("Reason", "dnd")], None),
        ("QueuePause", [("Interface", member), ("Queue", "nosuch"), ("Paused", "true")], None),
        ("QueueStatus", [("Member", "Local/999@agents")], "QueueStatusComplete"),
    ]
    for i, (action, headers, until) in enumerate(steps):
        r.note(f"{action} " + " ".join(f"{k}={v}" for k, v in headers))
        r.send([("Action", action), ("ActionID", f"b13-{i}")] + headers)
        m = r.message()
        # The list's events (and the pause events) up to the last one.
        while until and m.get("Event") != until:
            m = r.message()
        if action == "QueuePause" and until:
            # The pause events for every queue the member is in come after.
            deadline = time.monotonic() + 0.5
            r.sock.settimeout(0.5)
            try:
                while time.monotonic() < deadline:
                    r.message()
            except socket.timeout:
                pass
            r.sock.settimeout(5)
    r.send([("Action", "Logoff"), ("ActionID", "bye")])
    r.message()
    r.read_until(b"\0")
    r.sock.close()
    return [("ami-B13-queue-pause-status", r.chunks,
             "B13: QueueStatus and QueuePause with a reason, Events: agent (queues.conf: "
             "[agents] and [sales], Local/205@agents a static member of both)")]


def main():
    with tempfile.TemporaryDirectory() as d:
        a = real_asterisk.Asterisk(d, real_asterisk.require_asterisk())
        a.start()
        try:
            recorded = b11(a.ami_port) + b12(a.ami_port)
        finally:
            a.stop()
    with tempfile.TemporaryDirectory() as d:
        a = real_asterisk.Asterisk(d, real_asterisk.require_asterisk(), modules=["app_queue.so"],
                                   etc_files={"queues.conf": QUEUES},
                                   extensions="[agents]\nexten => 205,1,Wait(30)\n")
        a.start()
        try:
            recorded += b13(a.ami_port)
        finally:
            a.stop()
    for name, chunks, title in recorded:
        with open(os.path.join(REF, "raw", name + ".json"), "w") as f:
            json.dump(chunks, f, indent=0)
        with open(os.path.join(REF, name + ".txt"), "w") as f:
            f.write(text_of(chunks, title))
        print("recorded", name)


if __name__ == "__main__":
    main()
