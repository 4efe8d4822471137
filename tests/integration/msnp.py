"""MSN (MSNP18) for the tests: a buddy client, and a protocol-faithful server.

MsnClient is a buddy: the SSO login (RST2.srf over HTTP, the MBI_KEY_OLD
response), ADL, CHG, UUX personal messages, IMs through switchboards both
ways.  FakeMsn is the notification server, the switchboard and the login
service in one, written from the transcript
tests/reference/revival/msnp-scenario.json recorded against Escargot
(subpurple/escargot): VER (MSNP18 only, "VER t 0" otherwise), CVR, USR SSO
I/S (the response checked: HMAC-SHA1 key derivation + 3DES-CBC; 911 and a
close when wrong), the login service answering a ticket and a binary secret
(or a fault for a wrong password), ADL (the server keeps the list; the
added contact gets ADL 0 with l=8), CHG (nobody sees you before it; the
first one brings NLN + UBX of your online contacts), UUX -> UBX to
watchers, NLN/FLN as "1:email", PNG -> QNG 60, XFR/RNG/CAL/ANS/JOI/MSG/BYE
on the switchboard (217 to an offline contact; the 16+ JOI twice, with and
without the machine GUID).  scenario() drives the same steps against
either; test_revival_peers.py compares.
"""
import base64
import hashlib
import hmac
import http.server
import queue
import random
import re
import socket
import threading
import time
import urllib.request
import uuid

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import wire

PAYLOAD_CMDS = {"MSG", "UBX", "GCF", "ADL", "RML", "NOT", "UUN", "UBN", "FQY", "NFY", "PUT", "SDG",
                "UUX"}
CAPS = "2788999228:48"


def read_cmd(f):
    """(cmd, [args], payload-bytes-or-None) from a socket file; None at EOF."""
    line = f.readline()
    if not line:
        return None
    words = line.rstrip(b"\r\n").decode("utf-8", "replace").split(" ")
    payload = None
    if words[0] in PAYLOAD_CMDS and len(words) > 1 and words[-1].isdigit():
        n = int(words[-1])
        if n:
            payload = f.read(n)
    return words[0], words[1:], payload


def derive(key, magic):
    h1 = hmac.new(key, magic, hashlib.sha1).digest()
    h2 = hmac.new(key, h1 + magic, hashlib.sha1).digest()
    h3 = hmac.new(key, h1, hashlib.sha1).digest()
    h4 = hmac.new(key, h3 + magic, hashlib.sha1).digest()
    return h2 + h4[:4]


def sso_response(secret_b64, nonce, iv=None):
    key = base64.b64decode(secret_b64)
    key2 = derive(key, b"WS-SecureConversationSESSION KEY HASH")
    key3 = derive(key, b"WS-SecureConversationSESSION KEY ENCRYPTION")
    iv = iv or bytes(random.getrandbits(8) for _ in range(8))
    digest = hmac.new(key2, nonce, hashlib.sha1).digest()
    pad = 8 - len(nonce) % 8
    enc = Cipher(algorithms.TripleDES(key3), modes.CBC(iv)).encryptor()
    cipher = enc.update(nonce + bytes([pad]) * pad) + enc.finalize()
    import struct
    head = struct.pack("<IIIIIII", 28, 1, 0x6603, 0x8004, 8, 20, len(cipher))
    return base64.b64encode(head + iv + digest + cipher).decode()


RST_REQUEST = (
    '<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" '
    'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" '
    'xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" '
    'xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><Header><wsse:Security>'
    '<wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password>{pw}</wsse:Password>'
    '</wsse:UsernameToken></wsse:Security></Header><Body><wst:RequestSecurityToken><wsp:AppliesTo>'
    '<wsa:EndpointReference><wsa:Address>messengerclear.live.com</wsa:Address></wsa:EndpointReference>'
    '</wsp:AppliesTo></wst:RequestSecurityToken></Body></Envelope>')


def rst(http_port, email, password):
    """(ticket, secret) from the login service, or None when refused."""
    from xml.sax.saxutils import escape
    body = RST_REQUEST.format(user=escape(email), pw=escape(password)).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{http_port}/RST2.srf", data=body,
                                 headers={"Content-Type": "application/soap+xml"})
    with urllib.request.urlopen(req, timeout=10) as r:
        xml = r.read().decode()
    m = re.search(r"<wsse:BinarySecurityToken[^>]*>([^<]*)</wsse:BinarySecurityToken>.*?"
                  r"<wst:BinarySecret>([^<]*)</wst:BinarySecret>", xml, re.S)
    if not m:
        return None
    return m.group(1).replace("&amp;", "&"), m.group(2)


class LoginRefused(Exception):
    pass


class _Line:
    """One MSNP connection with a reader thread."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.f = self.sock.makefile("rb")
        self.trid = 0
        self.queue = queue.Queue()
        self.lock = threading.Lock()
        self.hook = None  # called on the reader thread with every command

    def send(self, line, payload=None):
        with self.lock:
            data = line.encode() + b"\r\n" + (payload or b"")
            self.sock.sendall(data)

    def cmd(self, text, payload=None):
        self.trid += 1
        if payload is not None:
            self.send(f"{text.replace('{t}', str(self.trid))} {len(payload)}", payload)
        else:
            self.send(text.replace("{t}", str(self.trid)))
        return self.trid

    def read(self):
        return read_cmd(self.f)

    def start(self):
        self.sock.settimeout(None)
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try:
                c = read_cmd(self.f)
            except (OSError, ValueError):
                c = None
            if c is not None and self.hook:
                self.hook(c)
            self.queue.put(c)
            if c is None:
                return

    def wait(self, cmd, pred=lambda c: True, timeout=10, seen=None):
        return wire.wait_queue(self.queue, lambda c: c[0] == cmd and pred(c), timeout, cmd, seen)

    def close(self):
        wire.shut(self.sock)
        self.sock.close()


class MsnClient:
    """A buddy on an MSNP18 server (NS @port, login service @http_port)."""

    def __init__(self, port, http_port, email, password, status="NLN", psm=""):
        self.email = email
        self.port, self.http_port = port, http_port
        self.guid = "{" + str(uuid.uuid4()) + "}"
        self.login = []  # what the server said during login, for the scenario
        self.ns = _Line("127.0.0.1", port)
        ns = self.ns
        ns.cmd("VER {t} MSNP18 CVR0")
        self.login.append(ns.read())
        ns.cmd(f"CVR {{t}} 0x0409 winnt 6.1.0 i386 MSNMSGR 14.0.8117.0416 msmsgs {email}")
        self.login.append(ns.read())
        ns.cmd(f"USR {{t}} SSO I {email}")
        nonce = None
        while nonce is None:
            c = ns.read()
            if c is None:
                raise ConnectionError("closed during login")
            self.login.append(c)
            if c[0] == "USR":
                nonce = c[1][-1]
            elif c[0].isdigit():
                raise LoginRefused(c[0])
        got = rst(http_port, email, password)
        if got is None:
            ns.close()
            raise LoginRefused("no ticket")
        ticket, secret = got
        ns.cmd(f"USR {{t}} SSO S {ticket} {sso_response(secret, nonce.encode())} {self.guid}")
        c = ns.read()
        self.login.append(c)
        if c is None or c[0] != "USR":
            raise LoginRefused(c[0] if c else "closed")
        self.sbs = {}
        self.ims = queue.Queue()
        ns.hook = lambda c: self._answer(c) if c[0] == "RNG" else None
        ns.start()
        ns.cmd("ADL {t}", b'<ml l="1"></ml>')
        self.set_status(status)
        self.set_psm(psm)

    def sync(self):
        """Until the server has handled what we sent (QNG answers after it)."""
        self.ns.send("PNG")
        self.wait("QNG")

    def set_status(self, st):
        self.ns.cmd(f"CHG {{t}} {st} {CAPS}")

    def set_psm(self, text):
        from xml.sax.saxutils import escape
        data = (f"<Data><PSM>{escape(text)}</PSM><CurrentMedia></CurrentMedia>"
                f"<MachineGuid>{self.guid}</MachineGuid></Data>").encode()
        self.ns.cmd("UUX {t}", data)

    def add(self, email):
        user, domain = email.split("@")
        self.ns.cmd("ADL {t}", f'<ml><d n="{domain}"><c n="{user}" l="3" t="1"/></d></ml>'.encode())

    def wait(self, cmd, pred=lambda c: True, timeout=10, seen=None):
        """The next NS command @cmd for which pred((cmd, args, payload)) holds
        (a RNG is answered as it arrives: IMs then come into self.ims)."""
        return self.ns.wait(cmd, pred, timeout, seen)

    def _answer(self, c):
        sessid, addr, _cki, token = c[1][:4]
        host, port = addr.rsplit(":", 1)
        sb = _Line(host, int(port))
        sb.cmd(f"ANS {{t}} {self.email};{self.guid} {token} {sessid}")
        sb.start()
        threading.Thread(target=self._sb_reader, args=(sb,), daemon=True).start()

    def _sb_reader(self, sb):
        while True:
            c = sb.queue.get()
            if c is None:
                return
            if c[0] == "MSG" and c[2]:
                head, _, body = c[2].partition(b"\r\n\r\n")
                if b"text/plain" in head:
                    self.ims.put((c[1][0], body.decode("utf-8", "replace")))

    def send_im(self, to, text):
        sb = self.sbs.get(to)
        if sb is None:
            self.ns.cmd("XFR {t} SB")
            c = self.ns.wait("XFR")
            host, port = c[1][2].rsplit(":", 1)
            sb = _Line(host, int(port))
            sb.cmd(f"USR {{t}} {self.email};{self.guid} {c[1][4]}")
            assert sb.read()[0] == "USR"
            sb.cmd(f"CAL {{t}} {to}")
            sb.start()
            sb.wait("JOI")
            self.sbs[to] = sb
            # What the other side answers on this switchboard is an IM too.
            threading.Thread(target=self._sb_reader, args=(sb,), daemon=True).start()
        payload = ("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                   "X-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n" + text).encode()
        sb.cmd("MSG {t} N", payload)

    def wait_im(self, timeout=10):
        return self.ims.get(timeout=timeout)

    def close(self):
        for sb in self.sbs.values():
            sb.close()
        try:
            self.ns.send("OUT")
        except OSError:
            pass
        self.ns.close()


# ---- the scenario recorded against Escargot and replayed against the fake ----

VOLATILE = {"SBS", "NOT", "GCF"}


def canonical(c, names):
    """A server command as a stable line: tokens, nonces, session ids, GUIDs
    and profile payloads left out; e-mail addresses as A/B."""
    cmd, args, payload = c
    args = list(args)
    if cmd == "USR" and "MBI_KEY_OLD" in args:
        args[-1] = "<nonce>"
    if cmd == "XFR" and len(args) > 4:
        args[4] = "<token>"
    if cmd == "RNG":
        args[0], args[3] = "<session>", "<token>"
    if cmd == "CAL" and len(args) > 2:
        args[2] = "<session>"
    line = " ".join([cmd] + args)
    line = re.sub(r"\{[0-9a-fA-F-]{36}\}", "{guid}", line)
    if payload is not None:
        if cmd == "UBX":
            m = re.search(rb"<PSM>(.*?)</PSM>", payload, re.S)
            line = re.sub(r" \d+$", "", line) + f" psm={m.group(1).decode() if m else None!r}"
        elif cmd == "MSG" and args[:1] != ["Hotmail"]:
            head, _, body = payload.partition(b"\r\n\r\n")
            line = re.sub(r" \d+$", "", line) + f" text={body.decode()!r}"
        elif cmd == "ADL":
            line = re.sub(r" \d+$", "", line) + f" {payload.decode()!r}"
        else:
            line = re.sub(r" \d+$", "", line) + " <payload>"
    for real, alias in names.items():
        line = line.replace(real, alias).replace(real.split("@")[0], alias.lower())
    return line


def _next(client, names, cmd, pred=lambda line: True, timeout=10):
    """The line of the first @cmd whose line passes @pred (what comes before
    it is skipped: the server fans presence out on a 0.2 s timer with the
    state of the moment, so repeats and their order vary from run to run)."""
    return canonical(client.wait(cmd, lambda c: pred(canonical(c, names)), timeout), names)


def scenario(http_port, port, a, b, log=print):
    """The recorded steps with fresh accounts @a and @b ((email, password),
    empty lists); returns [(step, [lines])].  @port is the NS."""
    names = {a[0]: "A", b[0]: "B"}
    out = []

    def step(name, lines):
        log(f"{name}: {lines}")
        out.append([name, lines])

    step("bad password", ["ticket" if rst(http_port, a[0], "wrong") else "no ticket"])
    old = _Line("127.0.0.1", port)
    old.cmd("VER {t} MSNP1 CVR0")
    step("VER with nothing the server speaks", [" ".join([c[0]] + c[1]) for c in [old.read()]] +
         ["closed" if old.read() is None else "open"])
    old.close()
    ca = MsnClient(port, http_port, *a)
    step("A logs in", [canonical(c, names) for c in ca.login if c[0] not in VOLATILE])
    cb = MsnClient(port, http_port, *b, psm="hi <there> & co")
    cb.sync()
    try:
        ca.add(b[0])
        about_b = lambda ln: ln.startswith(("NLN", "UBX")) and " 1:B " in ln + " "
        step("A adds B: A", [_next(ca, names, "ADL", lambda ln: ln.endswith("OK")),
                             _next(ca, names, "NLN", about_b), _next(ca, names, "UBX", about_b)])
        step("A adds B: B", [_next(cb, names, "ADL", lambda ln: ln.startswith("ADL 0"))])
        cb.add(a[0])
        step("B adds A", [_next(cb, names, "ADL", lambda ln: ln.endswith("OK"))])
        for st in ("PHN", "BSY", "IDL", "AWY", "NLN"):
            cb.set_status(st)
            step(f"B {st}", [_next(ca, names, "NLN", lambda ln: ln.startswith(f"NLN {st} 1:B")),
                             _next(ca, names, "UBX", about_b)])
        cb.set_psm("busy/sip:1@pbx")
        step("B personal message", [_next(ca, names, "UBX", lambda ln: "busy/sip" in ln)])
        cb.send_im(a[0], "hello A <3")
        step("B IMs A", [f"{names[f]} {t!r}" for f, t in [ca.wait_im()]])
        ca.send_im(b[0], "hello B")
        step("A IMs B", [f"{names[f]} {t!r}" for f, t in [cb.wait_im()]])
        ca.ns.send("PNG")
        step("A pings", [_next(ca, names, "QNG")])
        cb.set_status("HDN")
        step("B invisible", [_next(ca, names, "FLN")])
        cb.set_status("NLN")
        step("B visible", [_next(ca, names, "NLN", about_b), _next(ca, names, "UBX", about_b)])
        cb.close()
        step("B leaves", [_next(ca, names, "FLN")])
    finally:
        ca.close()
        cb.close()
    return out


# ---- the faithful server: NS, switchboard and login service ----

GCF_POLICY = b'<Policies><Policy type="SHIELDS"><config><shield></shield></config></Policy></Policies>'
RST_TOKEN = """<?xml version="1.0" encoding="utf-8" ?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsa="http://www.w3.org/2005/08/addressing"><S:Body><wst:RequestSecurityTokenResponseCollection>{responses}</wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>"""
RST_ONE = """<wst:RequestSecurityTokenResponse><wst:TokenType>urn:passport:compact</wst:TokenType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>{domain}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wst:RequestedSecurityToken><wsse:BinarySecurityToken Id="Compact{i}">t={token}Y6+H31sTUOFkqjNTDYqAAFLr5Ote7BMrMnUIzpg860jh084QMgs5djRQLLQP0TVOFkKdWDwAJdEWcfsI9YL8otN9kSfhTaPHR1njHmG0H98O2NE==&amp;p=</wsse:BinarySecurityToken></wst:RequestedSecurityToken>{secret}</wst:RequestSecurityTokenResponse>"""
RST_FAULT = """<?xml version="1.0" encoding="utf-8" ?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:psf="http://schemas.microsoft.com/Passport/SoapServices/SOAPFault"><S:Body><S:Fault><faultcode>wsse:FailedAuthentication</faultcode><faultstring>Authentication Failure</faultstring></S:Fault></S:Body></S:Envelope>"""


class _Sess:
    def __init__(self, sock):
        self.sock = sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as servers do
        self.f = sock.makefile("rb")
        self.email = None
        self.status = None     # None until the first CHG
        self.psm = b""
        self.nonce = None
        self.lock = threading.Lock()

    def send(self, line, payload=None):
        data = line.encode() + b"\r\n"
        if payload is not None:
            data = f"{line} {len(payload)}\r\n".encode() + payload
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass


class FakeMsn:
    """The Escargot-faithful MSNP18 server: NS, SB and login service on free
    loopback ports."""

    def __init__(self, port=0, sb_port=0, http_port=0):
        self.accounts = {}   # email -> password
        self.fl = {}         # email -> set of emails on its forward list
        self.online = {}     # email -> _Sess, after its first CHG
        self.sessions = {}   # email -> _Sess, logged in
        self.tokens = {}     # login ticket -> (email, binary secret)
        self.sb_tokens = {}  # switchboard token -> (email, calls)
        self.calls = {}      # session id -> list of SB _Sess
        self.logins = 0
        self.lock = threading.RLock()
        self.server = wire.Server()
        self.port = self.server.listen(self._ns, port)
        self.sb_port = self.server.listen(self._sb, sb_port)
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                out = fake._rst(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
        self.http_port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def loginurl(self):
        return f"http://127.0.0.1:{self.http_port}/RST2.srf"

    def add_user(self, email, password):
        with self.lock:
            self.accounts[email.lower()] = password
            self.fl.setdefault(email.lower(), set())

    def _rst(self, body):
        text = body.decode("utf-8", "replace")
        user = re.search(r"<(?:\w+:)?Username>([^<]*)<", text)
        pw = re.search(r"<(?:\w+:)?Password>([^<]*)<", text)
        from xml.sax.saxutils import unescape
        email = unescape(user.group(1)).lower() if user else None
        with self.lock:
            ok = email in self.accounts and pw and unescape(pw.group(1)) == self.accounts[email]
        if not ok:
            return RST_FAULT
        token = "%020x" % random.getrandbits(80)
        secret = base64.b64encode(bytes(random.getrandbits(8) for _ in range(24))).decode()
        with self.lock:
            self.tokens[token] = (email, secret)
        domains = [d for d in re.findall(r"<(?:\w+:)?Address>([^<]*)<", text)
                   if d != "http://Passport.NET/tb"]
        return RST_TOKEN.format(responses="".join(
            RST_ONE.format(i=i + 1, domain=d, token=token,
                           secret=f"<wst:RequestedProofToken><wst:BinarySecret>{secret}"
                                  "</wst:BinarySecret></wst:RequestedProofToken>"
                           if d == "messengerclear.live.com" else "")
            for i, d in enumerate(domains)))

    # -- notification server --

    def _ns(self, sock):
        s = _Sess(sock)
        try:
            while True:
                c = read_cmd(s.f)
                if c is None or not self._ns_cmd(s, *c):
                    break
        except (OSError, ValueError, IndexError):
            pass
        finally:
            self._gone(s)
            sock.close()

    def _ns_cmd(self, s, cmd, args, payload):
        t = args[0] if args else "0"
        if cmd == "VER":
            if "MSNP18" not in args[1:]:
                s.send(f"VER {t} 0")
                return False
            s.send(f"VER {t} MSNP18")
        elif cmd == "CVR":
            s.send(f"CVR {t} 14.0.8117.0416 14.0.8117.0416 14.0.8117.0416 "
                   "https://escargot.log1p.xyz https://escargot.log1p.xyz")
        elif cmd == "USR" and args[1:3] == ["SSO", "I"]:
            s.email = args[3].lower()
            s.nonce = base64.b64encode(bytes(random.getrandbits(8) for _ in range(48)))
            s.send("GCF 0", GCF_POLICY)
            s.send(f"USR {t} SSO S MBI_KEY_OLD {s.nonce.decode()}")
        elif cmd == "USR" and args[1:3] == ["SSO", "S"] and s.nonce:
            token = args[3][2:22] if args[3].startswith("t=") else args[3]
            with self.lock:
                got = self.tokens.get(token)
            if got is None or got[0] != s.email or len(args) < 6 or not self._rps_ok(got[1], s.nonce, args[4]):
                s.send(f"911 {t}")
                return False
            with self.lock:
                self.logins += 1
            s.send(f"USR {t} OK {s.email} 1 0")
            s.send("SBS 0 null")
            s.send("MSG Hotmail Hotmail", b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; "
                   b"charset=UTF-8\r\nLoginTime: %d\r\n\r\n" % int(time.time()))
            s.send(f"UBX 1:{s.email} 0")
            s.ready = True
            with self.lock:
                self.sessions[s.email] = s
        elif not getattr(s, "ready", False):
            return True
        elif cmd == "ADL":
            if payload and b"<d " in payload:
                for domain, users in re.findall(rb'<d n="([^"]+)">(.*?)</d>', payload, re.S):
                    for user, lists in re.findall(rb'<c n="([^"]+)" l="(\d+)"', users):
                        self._add(s, f"{user.decode()}@{domain.decode()}".lower(), int(lists))
            s.send(f"ADL {t} OK")
        elif cmd == "RML":
            s.send(f"RML {t} OK")
        elif cmd == "CHG":
            first = s.status is None
            st = args[1]
            s.status = st
            s.caps = args[2] if len(args) > 2 else ""
            s.send(f"CHG {t} {st} {s.caps}")
            if first:
                s.send("MSG Hotmail Hotmail", b"MIME-Version: 1.0\r\nContent-Type: "
                       b"text/x-msmsgsinitialmdatanotification; charset=UTF-8\r\n\r\nMail-Data: <MD/>\r\n")
                with self.lock:
                    self.online[s.email] = s
                    mine = [self.online[e] for e in self.fl[s.email] if e in self.online]
                for o in mine:
                    if o.status != "HDN":
                        self._tell(s, o)
            self._fanout(s)
        elif cmd == "UUX":
            # Escargot stores the text and escapes it again, numerically (16+).
            from xml.sax.saxutils import unescape
            m = re.search(rb"<PSM>(.*?)</PSM>", payload or b"", re.S)
            text = unescape(m.group(1).decode("utf-8", "replace")) if m else ""
            text = text.replace("&", "&#x26;").replace("<", "&#x3C;").replace(">", "&#x3E;")
            s.psm = b"<PSM>" + text.encode() + b"</PSM>"
            s.send(f"UUX {t} 0")
            self._fanout(s, ubx_only=True)
        elif cmd == "PNG":
            s.send("QNG 60")
        elif cmd == "XFR":
            if s.status is None or s.status == "HDN":
                s.send(f"913 {t}")
            else:
                token = "%020x" % random.getrandbits(80)
                with self.lock:
                    self.sb_tokens[token] = s.email
                s.send(f"XFR {t} SB 127.0.0.1:{self.sb_port} CKI {token} U messenger.msn.com 1")
        elif cmd == "OUT":
            return False
        return True

    @staticmethod
    def _rps_ok(secret, nonce, response):
        try:
            raw = base64.b64decode(response)
        except ValueError:
            return False
        if len(raw) < 28 + 8 + 20:
            return False
        return sso_response(secret, nonce, iv=raw[28:36]) == response

    def _add(self, s, email, lists):
        with self.lock:
            if not lists & 1 or email not in self.accounts:
                return
            self.fl[s.email].add(email)
            other = self.sessions.get(email)
        if other is not None:
            user, domain = s.email.split("@")
            other.send("ADL 0", f'<ml><d n="{domain}"><c n="{user}" t="1" l="8" f="{user}" />'
                                f'</d></ml>'.encode())
            if s.status is not None and other.status not in (None, "HDN"):
                self._tell(s, other)

    def _ubx(self, o):
        return (o.psm or b"<PSM></PSM>") + b"<CurrentMedia></CurrentMedia>"

    def _tell(self, watcher, o):
        """@watcher hears @o's state and personal message."""
        user = o.email.split("@")[0]
        watcher.send(f"NLN {o.status} 1:{o.email} {user} {o.caps} %3Cmsnobj%2F%3E")
        watcher.send(f"UBX 1:{o.email}", b"<Data>" + self._ubx(o) + b"</Data>")

    def _fanout(self, s, ubx_only=False):
        with self.lock:
            watchers = [o for e, o in self.online.items() if s.email in self.fl.get(e, ()) and e != s.email]
        for w in watchers:
            if s.status == "HDN":
                w.send(f"FLN 1:{s.email} 0:0")
            elif ubx_only:
                w.send(f"UBX 1:{s.email}", b"<Data>" + self._ubx(s) + b"</Data>")
            else:
                self._tell(w, s)

    def _gone(self, s):
        with self.lock:
            if s.email and self.sessions.get(s.email) is s:
                del self.sessions[s.email]
            if s.email is None or self.online.get(s.email) is not s:
                return
            del self.online[s.email]
            watchers = [o for e, o in self.online.items() if s.email in self.fl.get(e, ())]
        if s.status != "HDN":
            for w in watchers:
                w.send(f"FLN 1:{s.email} 0:0")

    # -- switchboard --

    def _sb(self, sock):
        s = _Sess(sock)
        call = None
        try:
            while True:
                c = read_cmd(s.f)
                if c is None:
                    break
                cmd, args, payload = c
                t = args[0] if args else "0"
                if cmd == "USR" and len(args) >= 3:
                    with self.lock:
                        owner = self.sb_tokens.pop(args[2], None)
                    if owner is None or owner != args[1].split(";")[0].lower():
                        s.send(f"911 {t}")
                        break
                    s.email = owner
                    call = str(random.randint(10 ** 8, 10 ** 9))
                    with self.lock:
                        self.calls[call] = [s]
                    s.send(f"USR {t} OK {owner} {owner.split('@')[0]}")
                elif cmd == "CAL" and call:
                    to = args[1].lower()
                    with self.lock:
                        other = self.online.get(to)
                        allowed = to in self.fl.get(s.email, ())
                    if other is None or other.status == "HDN" or not allowed:
                        s.send(f"217 {t}")
                        continue
                    token = "%020x" % random.getrandbits(80)
                    with self.lock:
                        self.sb_tokens[token] = (to, call)
                    s.send(f"CAL {t} RINGING {call}")
                    other.send(f"RNG {call} 127.0.0.1:{self.sb_port} CKI {token} {s.email} "
                               f"{s.email.split('@')[0]} U messenger.hotmail.com 1")
                elif cmd == "ANS" and len(args) >= 4:
                    with self.lock:
                        got = self.sb_tokens.pop(args[2], None)
                    email = args[1].split(";")[0].lower()
                    if not isinstance(got, tuple) or got[0] != email or got[1] != args[3]:
                        s.send(f"911 {t}")
                        break
                    s.email, call = email, args[3]
                    with self.lock:
                        others = list(self.calls.get(call, []))
                        self.calls.setdefault(call, []).append(s)
                    for i, o in enumerate(others, 1):
                        s.send(f"IRO {t} {i} {len(others)} {o.email} {o.email.split('@')[0]} {CAPS}")
                    s.send(f"ANS {t} OK")
                    guid = args[1].split(";")[1] if ";" in args[1] else ""
                    for o in others:
                        o.send(f"JOI {email};{guid} {email.split('@')[0]} {CAPS}")
                        o.send(f"JOI {email} {email.split('@')[0]} {CAPS}")
                elif cmd == "MSG" and call and payload is not None:
                    if len(payload) > 1664:
                        break  # Escargot closes the switchboard connection
                    with self.lock:
                        others = [o for o in self.calls.get(call, []) if o is not s]
                    for o in others:
                        o.send(f"MSG {s.email} {s.email.split('@')[0]}", payload)
                    if args[1] in ("A", "D"):
                        s.send(f"ACK {t}")
                elif cmd == "OUT":
                    break
        except (OSError, ValueError, IndexError):
            pass
        finally:
            if call:
                with self.lock:
                    members = self.calls.get(call, [])
                    if s in members:
                        members.remove(s)
                    others = list(members)
                for o in others:
                    o.send(f"BYE {s.email}")
            sock.close()

    def kick_all(self):
        self.server.kick_all()

    def close(self):
        self.server.close()
        self.http.shutdown()
        self.http.server_close()
