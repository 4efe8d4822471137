"""Yahoo! (YMSG10) for the tests: a buddy client, and a protocol-faithful server.

YmsgClient is a buddy: the v1 challenge login, buddy adds, status (codes and
custom messages), IMs, pings.  FakeYmsg is the pager server written from the
transcript tests/reference/revival/ymsg-scenario.json recorded against
Escargot (subpurple/escargot, the MSN/Yahoo revival server): 0x4C handshake,
0x57/0x54 login (0x54 status -1 with 66 = 3 no such ID / 13 bad password,
then close), 0x55 list + 0x01 logon + 0x12 ping settings on success, nobody
sees you until your first 0x04/0x03 (the login status is ignored), 0x83 adds
(66 = 0 added, 2 already there, 3 no such ID; no authorization), presence as
0x01 LOGON / 0x04 ISBACK / 0x03 ISAWAY (any status with a message comes back
as 99 + 19 + 47) / 0x02 LOGOFF, IMs 0x06, 0x8A ping.  Idle is status 999
only.  scenario() runs the same steps against either; test_revival_peers.py
compares.
"""
import base64
import crypt
import hashlib
import queue
import socket
import struct
import threading
import time
import uuid

import wire
from wire import read_exact as _read_exact

SEP = b"\xc0\x80"
HANDSHAKE, AUTH, AUTHRESP, LIST, LOGON, LOGOFF, ISAWAY, ISBACK, MESSAGE, PING_SETTINGS, \
    ADDBUDDY, PING = 0x4C, 0x57, 0x54, 0x55, 0x01, 0x02, 0x03, 0x04, 0x06, 0x12, 0x83, 0x8A
FAIL = 0xFFFFFFFF


def pack(service, pairs=(), status=0, session=0, version=10):
    payload = b"".join(str(k).encode() + SEP + (v if isinstance(v, bytes) else str(v).encode()) + SEP
                       for k, v in pairs)
    return b"YMSG" + struct.pack(">HHHHII", version, 0, len(payload), service, status, session) + payload


def read_packet(sock):
    """(service, status, session, [(key, value-bytes)]) or None at EOF."""
    head = _read_exact(sock, 20)
    if head is None:
        return None
    if head[:4] != b"YMSG":
        raise ValueError(f"not YMSG: {head!r}")
    _ver, _vendor, n, service, status, session = struct.unpack(">HHHHII", head[4:])
    payload = _read_exact(sock, n) if n else b""
    if payload is None:
        return None
    return service, status, session, pairs_of(payload)


def pairs_of(payload):
    parts = payload.split(SEP)
    if parts and parts[-1] == b"":
        parts.pop()
    return [(int(parts[i]), parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def get(pairs, key, default=None):
    for k, v in pairs:
        if k == key:
            return v.decode("utf-8", "replace")
    return default


def y64(data):
    return base64.b64encode(data).translate(bytes.maketrans(b"+/=", b"._-"))


def responses(user, password, chal):
    """(r6, r96) for the v1 challenge (pidgin's yahoo_process_auth_old)."""
    chal = chal.encode()
    ph = y64(hashlib.md5(password.encode()).digest())
    ch = y64(hashlib.md5(crypt.crypt(password, "$1$_2S43d5f").encode()).digest())
    sv = chal[15] % 8 % 5
    ck = bytes([chal[chal[[7, 9, 15, 1, 3][sv]] % 16]])
    u = user.encode()

    def order(h):
        return [h + u + chal, u + chal + h, chal + h + u, u + h + chal, h + chal + u][sv]

    return y64(hashlib.md5(ck + order(ph)).digest()), y64(hashlib.md5(ck + order(ch)).digest())


class LoginRefused(Exception):
    def __init__(self, code):
        super().__init__(f"YMSG login refused: 66={code}")
        self.code = code


class YmsgClient:
    """A buddy on a YMSG pager; packets arrive on a thread."""

    def __init__(self, host, port, yid, password, status=0, message=None):
        self.id = yid
        self.session = 0
        self.packets = queue.Queue()
        self.list = ""
        self.seen = []  # every packet read during login, for the scenario
        self.sock = socket.create_connection((host, port), timeout=10)
        self.send(HANDSHAKE)
        self._expect(HANDSHAKE)
        self.send(AUTH, [(1, yid)])
        p = self._expect(AUTH)
        r6, r96 = responses(yid, password, get(p[3], 94))
        self.send(AUTHRESP, [(0, yid), (6, r6), (96, r96), (2, yid), (1, yid),
                             (135, "5, 5, 0, 1246")])
        while True:
            p = read_packet(self.sock)
            if p is None:
                raise ConnectionError("closed during login")
            self.seen.append(p)
            if p[0] == AUTHRESP and p[1] == FAIL:
                self.sock.close()
                raise LoginRefused(int(get(p[3], 66, "0")))
            if p[0] == LIST:
                self.list = get(p[3], 87, "")
                self.session = p[2]
                break
        self.sock.settimeout(None)
        threading.Thread(target=self._reader, daemon=True).start()
        self.set_status(status, message)

    def send(self, service, pairs=(), status=0):
        self.sock.sendall(pack(service, pairs, status, self.session))

    def _expect(self, service):
        while True:
            p = read_packet(self.sock)
            if p is None:
                raise ConnectionError(f"closed waiting for {service:#x}")
            self.session = p[2] or self.session
            if p[0] == service:
                return p

    def _reader(self):
        while True:
            p = read_packet(self.sock)
            self.packets.put(p)
            if p is None:
                return

    def wait(self, service, pred=lambda pairs: True, timeout=10, seen=None):
        return wire.wait_queue(self.packets, lambda p: p[0] == service and pred(p[3]), timeout,
                               f"{service:#x} for {self.id}", seen)

    def sync(self, timeout=10):
        """Until the server has handled everything sent so far (a ping's
        answer comes after it)."""
        self.send(PING)
        self.wait(PING, timeout=timeout)

    def set_status(self, code=0, message=None, away=None):
        """0 available ... 6 on the phone ... 999 idle; a message makes it custom."""
        if message is not None:
            self.send(ISAWAY, [(10, 99), (19, message), (47, 1 if away else 0)])
        elif code == 0:
            self.send(ISBACK, [(10, 0)])
        else:
            self.send(ISAWAY, [(10, code)])

    def add_buddy(self, who, group="Friends"):
        self.send(ADDBUDDY, [(1, self.id), (7, who), (65, group), (14, "")])
        return int(get(self.wait(ADDBUDDY)[3], 66, "-1"))

    def send_im(self, to, text):
        self.send(MESSAGE, [(1, self.id), (5, to), (14, text), (97, 1)], status=0x5A55AA56)

    def wait_im(self, pred=lambda sender, text: True, timeout=10):
        p = self.wait(MESSAGE, lambda pairs: pred(get(pairs, 4), get(pairs, 14)), timeout)
        return get(p[3], 4), get(p[3], 14)

    def close(self):
        if self.sock:
            wire.shut(self.sock)
            self.sock.close()
            self.sock = None


# ---- the faithful server ----

class FakeYmsg:
    """The Escargot-faithful YMSG pager on a free loopback port."""

    def __init__(self, port=0):
        self.accounts = {}   # id -> password
        self.lists = {}      # id -> [buddy ids] (group "Friends")
        self.online = {}     # id -> _Conn (after the first ISBACK/ISAWAY)
        self.logins = 0
        self.lock = threading.RLock()
        self.server = wire.Server()
        self.port = self.server.listen(self._serve, port)

    def add_user(self, yid, password):
        with self.lock:
            self.accounts[yid.lower()] = password
            self.lists.setdefault(yid.lower(), [])

    def _serve(self, c):
        conn = _Conn(c)
        try:
            while True:
                p = read_packet(c)
                if p is None:
                    break
                if not self._packet(conn, *p):
                    break
        except (ValueError, OSError):
            pass
        finally:
            self._gone(conn)
            try:
                c.close()
            except OSError:
                pass

    def _packet(self, conn, service, status, _session, pairs):
        if service == HANDSHAKE:
            conn.send(HANDSHAKE, status=1)
        elif service == AUTH:
            conn.claimed = (get(pairs, 1) or "").lower()
            conn.chal = y64(uuid.uuid4().bytes).decode()
            conn.send(AUTH, [(1, get(pairs, 1)), (94, conn.chal)], status=1)
        elif service == AUTHRESP and conn.chal:
            yid = (get(pairs, 0) or "").lower()
            with self.lock:
                pw = self.accounts.get(yid)
            if pw is None or responses(yid, pw, conn.chal) != (
                    (get(pairs, 6) or "").encode(), (get(pairs, 96) or "").encode()):
                conn.send(AUTHRESP, [(66, 3 if pw is None else 13)], status=FAIL)
                return False
            conn.id = yid
            with self.lock:
                self.logins += 1
                friends = list(self.lists[yid])
            conn.send(LIST, [(87, "Friends:" + ",".join(friends) + "\n" if friends else ""),
                             (88, ""), (89, yid), (59, "Y\tv=1"), (59, "T\tz=1"), (59, "C\tmg=1"),
                             (3, yid), (90, 1), (100, 0), (101, ""), (102, ""), (93, 86400)])
            online = self._online_records(yid)
            conn.send(LOGON, [(0, yid), (1, yid), (8, len(online))] + [kv for r in online for kv in r])
            conn.send(PING_SETTINGS, [(143, 60), (144, 13)])
        elif conn.id is None:
            return True
        elif service in (ISBACK, ISAWAY):
            code = int(get(pairs, 10, "0"))
            msg = get(pairs, 19)
            if code == 12:
                conn.state = None
                self._tell_watchers(conn, LOGOFF, [(7, conn.id), (10, 0), (11, 0), (17, 0), (13, 0)])
                with self.lock:
                    self.online.pop(conn.id, None)
                return True
            if msg:
                # Any status with a message is custom; 47 = 1 is stored as busy.
                conn.state = (99, msg, 1 if get(pairs, 47, "0") != "0" else 0)
            else:
                conn.state = (code, None, None)
            with self.lock:
                first = self.online.get(conn.id) is not conn
                self.online[conn.id] = conn
            if first:
                self._tell_watchers(conn, LOGON, self._record(conn))
            back = conn.state[0] == 0 and conn.state[1] is None
            self._tell_watchers(conn, ISBACK if back else ISAWAY, self._record(conn))
        elif service == ADDBUDDY:
            who = (get(pairs, 7) or "").lower()
            with self.lock:
                exists = who in self.accounts
                mine = self.lists[conn.id]
                already = who in mine
                if exists and not already:
                    mine.append(who)
                other = self.online.get(who)
            code = 3 if not exists else 2 if already else 0
            if code == 0:
                conn.send(0x0F, [(8, 1), (7, who), (10, other.state[0] if other else 0), (11, 0),
                                 (17, 0), (13, 1 if other else 0)], status=1)
                if other is not None:
                    other.send(0x0F, [(1, who), (3, conn.id), (14, ""), (97, ""),
                                      (15, f"{time.time():.7f}")], status=3)
            conn.send(ADDBUDDY, [(1, conn.id), (7, who), (65, get(pairs, 65) or ""), (66, code)],
                      status=1)
            if code == 0 and other is not None:
                conn.send(LOGON, [(0, conn.id)] + self._record(other), status=1)
                back = other.state[0] == 0 and other.state[1] is None
                conn.send(ISBACK if back else ISAWAY, [(0, conn.id)] + self._record(other), status=1)
        elif service == MESSAGE:
            to = (get(pairs, 5) or "").lower()
            with self.lock:
                other = self.online.get(to)
            if other is not None:
                other.send(MESSAGE, [(5, to), (4, conn.id), (14, get(pairs, 14) or ""),
                                     (97, get(pairs, 97) or "1")], status=1)
        elif service == PING:
            conn.send(PING, [(1, conn.id)])
        return True

    @staticmethod
    def _record(conn):
        code, msg, away = conn.state
        rec = [(7, conn.id), (10, code), (11, 0)]
        if code == 99:
            rec += [(19, msg), (47, away)]
        return rec + [(17, 0), (13, 1)]

    def _online_records(self, yid):
        with self.lock:
            others = [self.online[b] for b in self.lists[yid] if b in self.online]
        return [self._record(o) for o in others]

    def _tell_watchers(self, conn, service, rec):
        with self.lock:
            watchers = [o for i, o in self.online.items() if conn.id in self.lists.get(i, ())]
        for o in watchers:
            o.send(service, [(0, o.id)] + rec if service != LOGOFF else rec, status=1)

    def _gone(self, conn):
        with self.lock:
            if conn.id is None or self.online.get(conn.id) is not conn:
                return
            del self.online[conn.id]
        self._tell_watchers(conn, LOGOFF, [(7, conn.id), (10, 0), (11, 0), (17, 0), (13, 0)])

    def kick_all(self):
        self.server.kick_all()

    def close(self):
        self.server.close()


class _Conn:
    def __init__(self, sock):
        self.sock = sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as servers do
        self.id = None
        self.chal = None
        self.state = (0, None, None)
        self.lock = threading.Lock()

    def send(self, service, pairs=(), status=0):
        with self.lock:
            try:
                self.sock.sendall(pack(service, pairs, status))
            except OSError:
                pass


# ---- the scenario recorded against Escargot and replayed against the fake ----

MASK = {94: "<challenge>", 59: "<cookie>", 15: "<time>"}


def canonical(p, names):
    service, status, _session, pairs = p
    out = []
    for k, v in pairs:
        v = v.decode("utf-8", "replace")
        if k in MASK:
            v = MASK[k]
        else:
            for real, alias in names.items():
                v = v.replace(real, alias)
        out.append(f"{k}={v!r}")
    return f"{service:#04x} st={status:#x} " + " ".join(out)


def _collect(client, names, service, pred=lambda line: True, timeout=10):
    lines = []

    def seen(p):
        if p[0] != PING_SETTINGS:
            lines.append(canonical(p, names))

    client.wait(service, lambda pairs: pred(canonical((service, 0, 0, pairs), names)), timeout, seen)
    return lines


def scenario(host, port, a, b, log=print):
    """The recorded steps with fresh accounts @a and @b ((id, password), empty
    lists); returns [(step, [lines])]."""
    names = {a[0]: "A", b[0]: "B"}
    out = []

    def step(name, lines):
        log(f"{name}: {lines}")
        out.append([name, lines])

    for what, who, pw in (("bad password", a[0], "wrong"), ("unknown ID", "nosuchid9", "x")):
        try:
            YmsgClient(host, port, who, pw)
            step(what, ["logged in"])
        except LoginRefused as e:
            step(what, [f"refused 66={e.code}"])
    ca = YmsgClient(host, port, *a)
    step("A logs in", [canonical(p, names) for p in ca.seen if p[0] != PING_SETTINGS]
         + _collect(ca, names, LOGON))
    cb = YmsgClient(host, port, *b)
    cb.sync()
    try:
        ca.send(ADDBUDDY, [(1, a[0]), (7, b[0]), (65, "Friends"), (14, "")])
        step("A adds B", _collect(ca, names, ISBACK))
        step("A adds B again", [f"66={cb and ca.add_buddy(b[0])}"])
        step("A adds nobody", [f"66={ca.add_buddy('nosuchid9')}"])
        for what, kw in (("B on the phone", {"code": 6}),
                         ("B custom away", {"message": "busy/sip:1@pbx <b>x</b> & y", "away": True}),
                         ("B custom available", {"message": "mobile: at home", "away": False}),
                         ("B idle", {"code": 999}), ("B brb", {"code": 1})):
            cb.set_status(**kw)
            step(what, _collect(ca, names, ISAWAY))
        cb.set_status(0)
        step("B back", _collect(ca, names, ISBACK))
        cb.send_im(a[0], "hello A <3")
        step("B IMs A", _collect(ca, names, MESSAGE))
        ca.send_im(b[0], "hello B")
        step("A IMs B", _collect(cb, names, MESSAGE))
        ca.send(PING)
        step("A pings", _collect(ca, names, PING))
        cb.close()
        step("B leaves", _collect(ca, names, LOGOFF))
    finally:
        ca.close()
        cb.close()
    return out
