"""Records ami-B11-challenge-md5 against a real Asterisk 22 (started
privately by tests/integration/real_asterisk.py), in the format of the other
transcripts: a readable .txt and the raw bytes as JSON.

    /usr/bin/python3 tests/reference/tools/record_ami_challenge.py
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

NAME = "ami-B11-challenge-md5"


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


def main():
    with tempfile.TemporaryDirectory() as d:
        a = real_asterisk.Asterisk(d, real_asterisk.require_asterisk())
        a.start()
        try:
            r = Recorder(a.ami_port)
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

            r = Recorder(a.ami_port)
            r.read_until(b"\r\n")
            r.note("Challenge, then Login with a wrong Key")
            r.send([("Action", "Challenge"), ("ActionID", "ch-2"), ("AuthType", "MD5")])
            r.message()
            r.send([("Action", "Login"), ("ActionID", "login-bad"), ("AuthType", "MD5"),
                    ("Username", "imstatus"), ("Key", "0" * 32)])
            r.message()
            r.read_until(b"\0")
            r.sock.close()
            bad = r.chunks
        finally:
            a.stop()
    for suffix, chunks, title in ((NAME, ok, "B11: Challenge (MD5) and Login with the key"),
                                  (NAME + "-bad-key", bad, "B11: Challenge (MD5), wrong key")):
        with open(os.path.join(REF, "raw", suffix + ".json"), "w") as f:
            json.dump(chunks, f, indent=0)
        with open(os.path.join(REF, suffix + ".txt"), "w") as f:
            f.write(text_of(chunks, title))
    print("recorded", NAME)


if __name__ == "__main__":
    main()
