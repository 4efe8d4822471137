"""A protocol-faithful Asterisk 22 manager (AMI) and call-file reader for the
tests, written from tests/reference/asterisk22/ami-* and callfile-*.

AMI: a one-line greeting "Asterisk Call Manager/11.0.0", then messages of
"Key: Value" lines and an empty line, always CRLF from Asterisk, LF accepted
from clients, header names in any case; responses echo the ActionID as their
second line; events carry "Privilege: <class>,all" as their second line except
the items of an event list, whose second line is the ActionID.  Login failure
answers after 1 s and closes; actions before login get "Permission denied".
test_ami_peer.py replays the recorded client sides against Manager.handle()
and compares with what Asterisk answered.
"""
import base64
import hashlib
import random
import re
import socket
import threading
import time

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
EVENT_CLASSES = {"DeviceStateChange": "call", "ExtensionStatus": "call",
                 "PresenceStateChange": "call", "PresenceStatus": "call",
                 "QueueMemberPause": "agent",
                 "OriginateResponse": "call", "Shutdown": "system",
                 "FullyBooted": "system", "UserEvent": "user", "Newchannel": "call"}


# ExtensionStatus: Status for each StatusText (ami-B07/B08; Asterisk's
# AST_EXTENSION_* bits).
HINT_STATUS = {"Idle": 0, "InUse": 1, "Busy": 2, "Unavailable": 4, "Ringing": 8,
               "InUse&Ringing": 9, "Hold": 16, "InUse&Hold": 17}


def frame(pairs):
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs) + b"\r\n"


def parse_messages(data):
    """Splits AMI bytes into messages (lists of (key, value)), greeting dropped."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    msgs, cur = [], []
    for line in text.split("\n"):
        if line.startswith("Asterisk Call Manager/"):
            continue
        if line == "":
            if cur:
                msgs.append(cur)
            cur = []
            continue
        k, _, v = line.partition(":")
        cur.append((k, v[1:] if v.startswith(" ") else v))
    if cur:
        msgs.append(cur)
    return msgs


def take_messages(buf):
    """Splits the complete messages (those ended by an empty line, CRLF or LF)
    off the front of @buf: returns (messages, the unfinished rest)."""
    msgs = []
    while True:
        m = re.search(rb"\r?\n\r?\n", buf)
        if not m:
            return msgs, buf
        msgs += parse_messages(buf[:m.start()] + b"\n\n")
        buf = buf[m.end():]


def get(msg, key):
    return next((v for k, v in msg if k.lower() == key.lower()), None)


class Manager:
    """The AMI state machine of one session; handle() returns what Asterisk
    writes back (and whether it closes)."""

    def __init__(self, server):
        self.server = server
        self.logged_in = False
        self.events = set()  # classes this session receives
        self.closed = False

    def response(self, msg, status, *fields):
        out = [("Response", status)]
        aid = get(msg, "ActionID")
        if aid is not None:
            out.append(("ActionID", aid))
        return out + list(fields)

    def handle(self, msg):
        """-> list of (delay_s, bytes) to write, in order."""
        srv = self.server
        action = get(msg, "Action")
        aid = get(msg, "ActionID")
        if action is None:
            return [(0, frame(self.response(msg, "Error", ("Message", "Missing action in request"))))]
        a = action.lower()
        srv.actions.append(msg)
        if a == "challenge":
            # ami-B11: a fresh number; Login then carries md5(challenge + secret).
            if (get(msg, "AuthType") or "").lower() != "md5":
                return [(0, frame(self.response(msg, "Error",
                                                ("Message", "Must specify AuthType"))))]
            self.challenge = srv.challenge()
            return [(0, frame(self.response(msg, "Success", ("Challenge", self.challenge))))]
        if a == "login":
            if self.logged_in:
                return [(0, frame(self.response(msg, "Success",
                                                ("Message", "Already authenticated"))))]
            user, secret = get(msg, "Username"), get(msg, "Secret")
            if (get(msg, "AuthType") or "").lower() == "md5":
                known = srv.users.get(user)
                key = get(msg, "Key") or ""
                good = known is not None and getattr(self, "challenge", None) is not None and \
                    hashlib.md5((self.challenge + known).encode()).hexdigest() == key.lower()
                secret = known if good else None
            if srv.users.get(user) != secret or secret is None:
                srv.logins.append((user, False))
                self.closed = True
                return [(1.0, frame(self.response(msg, "Error",
                                                  ("Message", "Authentication failed"))))]
            srv.logins.append((user, True))
            self.logged_in = True
            ev = (get(msg, "Events") or "on").lower()
            if ev == "off":
                self.events = set()
            elif ev == "on":
                self.events = {"call", "system", "user", "security", "dialplan", "agent"}
            else:
                self.events = {c.strip() for c in ev.split(",")}
            out = [(0, frame(self.response(msg, "Success",
                                           ("Message", "Authentication accepted"))))]
            if "system" in self.events:
                out.append((0, frame([("Event", "FullyBooted"), ("Privilege", "system,all"),
                                      ("Uptime", "191"), ("LastReload", "191"),
                                      ("Status", "Fully Booted")])))
            return out
        if not self.logged_in:
            return [(0, frame(self.response(msg, "Error", ("Message", "Permission denied"))))]
        if a == "ping":
            return [(0, frame(self.response(msg, "Success", ("Ping", "Pong"),
                                            ("Timestamp", f"{time.time():.6f}"))))]
        if a == "logoff":
            self.closed = True
            return [(0, frame(self.response(msg, "Goodbye",
                                            ("Message", "Thanks for all the fish."))))]
        if a == "events":
            ev = (get(msg, "EventMask") or "off").lower()
            self.events = set() if ev == "off" else {"call", "system", "user"}
            return [(0, frame(self.response(msg, "Success",
                                            ("Events", "Off" if ev == "off" else "On"))))]
        if a == "devicestatelist":
            out = [(0, frame(self.response(msg, "Success", ("EventList", "start"),
                                           ("Message", "Device State Changes will follow"))))]
            items = list(srv.devices.items())
            for dev, st in items:
                item = [("Event", "DeviceStateChange")]
                if aid is not None:
                    item.append(("ActionID", aid))
                out.append((0, frame(item + [("Device", dev), ("State", st)])))
            done = [("Event", "DeviceStateListComplete")]
            if aid is not None:
                done.append(("ActionID", aid))
            out.append((0, frame(done + [("EventList", "Complete"),
                                         ("ListItems", str(len(items)))])))
            return out
        if a == "extensionstatelist":
            # As ami-B08 recorded: a Success with EventList start, one
            # ExtensionStatus per hint, then the completion with the count.
            out = [(0, frame(self.response(msg, "Success", ("EventList", "start"),
                                           ("Message", "Extension Statuses will follow"))))]
            items = list(getattr(srv, "hints", {}).items())
            for (context, exten), (hint, text) in items:
                item = [("Event", "ExtensionStatus")]
                if aid is not None:
                    item.append(("ActionID", aid))
                out.append((0, frame(item + [("Exten", exten), ("Context", context), ("Hint", hint),
                                             ("Status", str(HINT_STATUS.get(text, -1))),
                                             ("StatusText", text)])))
            done = [("Event", "ExtensionStateListComplete")]
            if aid is not None:
                done.append(("ActionID", aid))
            out.append((0, frame(done + [("EventList", "Complete"),
                                         ("ListItems", str(len(items)))])))
            return out
        if a == "presencestatelist":
            # As ami-B08 recorded: one PresenceStateChange per presence state
            # that was set, then the completion with the count.
            out = [(0, frame(self.response(msg, "Success", ("EventList", "start"),
                                           ("Message", "Presence State Changes will follow"))))]
            items = list(srv.custom_presence.items())
            for name, (state, subtype, message) in items:
                item = [("Event", "PresenceStateChange")]
                if aid is not None:
                    item.append(("ActionID", aid))
                out.append((0, frame(item + [("Presentity", name), ("Status", state),
                                             ("Subtype", subtype), ("Message", message)])))
            done = [("Event", "PresenceStateListComplete")]
            if aid is not None:
                done.append(("ActionID", aid))
            out.append((0, frame(done + [("EventList", "Complete"),
                                         ("ListItems", str(len(items)))])))
            return out
        if a == "queuestatus":
            # As ami-B13 recorded: per queue its QueueParams, then a
            # QueueMember per member (only @Member's, when given), then the
            # completion counting both.
            out = [(0, frame(self.response(msg, "Success", ("EventList", "start"),
                                           ("Message", "Queue status will follow"))))]
            want, n = get(msg, "Member"), 0
            for queue, members in srv.queues.items():
                out.append((0, frame([("Event", "QueueParams"), ("Queue", queue), ("Max", "0"),
                                      ("Strategy", "ringall"), ("Calls", "0"), ("Holdtime", "0"),
                                      ("TalkTime", "0"), ("Completed", "0"), ("Abandoned", "0"),
                                      ("ServiceLevel", "0"), ("ServicelevelPerf", "0.0"),
                                      ("ServicelevelPerf2", "0.0"), ("Weight", "0")]
                                     + ([("ActionID", aid)] if aid is not None else []))))
                n += 1
                for iface, m in members.items():
                    if want and want != iface:
                        continue
                    out.append((0, frame(
                        [("Event", "QueueMember"), ("Queue", queue), ("Name", m["name"]),
                         ("Location", iface), ("StateInterface", m["state"]),
                         ("Membership", "static"), ("Penalty", "0"), ("CallsTaken", "0"),
                         ("LastCall", "0"), ("LastPause", "0"), ("LoginTime", "0"),
                         ("InCall", "0"), ("Status", "0"), ("Paused", "1" if m["paused"] else "0"),
                         ("PausedReason", m["reason"]), ("Wrapuptime", "0")]
                        + ([("ActionID", aid)] if aid is not None else []))))
                    n += 1
            done = [("Event", "QueueStatusComplete")]
            if aid is not None:
                done.append(("ActionID", aid))
            out.append((0, frame(done + [("EventList", "Complete"), ("ListItems", str(n))])))
            return out
        if a == "queuepause":
            # ami-B13: the member in @Queue (or in every queue it is in);
            # paused with @Reason, or unpaused (the reason cleared); a
            # QueueMemberPause per queue to sessions with agent events.
            iface, queue = get(msg, "Interface"), get(msg, "Queue")
            paused = (get(msg, "Paused") or "").lower() in ("true", "yes", "1")
            hits = [(q, ms[iface]) for q, ms in srv.queues.items()
                    if iface in ms and (queue is None or q == queue)]
            if not hits:
                return [(0, frame(self.response(msg, "Error", ("Message", "Interface not found"))))]
            srv.queue_actions.append((iface, queue, paused, get(msg, "Reason") or ""))
            for q, m in hits:
                m["paused"], m["reason"] = paused, (get(msg, "Reason") or "") if paused else ""
                srv.broadcast([("Event", "QueueMemberPause"), ("Privilege", "agent,all"),
                               ("Queue", q), ("MemberName", m["name"]), ("Interface", iface),
                               ("StateInterface", m["state"]), ("Paused", "1" if paused else "0"),
                               ("PausedReason", m["reason"])])
            return [(0, frame(self.response(
                msg, "Success",
                ("Message", f"Interface {'paused' if paused else 'unpaused'} successfully"))))]
        if a == "setvar":
            return [(0, frame(self.response(msg, *srv.setvar(get(msg, "Variable"),
                                                             get(msg, "Value") or ""))))]
        if a == "getvar":
            if get(msg, "Channel"):
                return [(0, frame(self.response(msg, "Error", ("Message", "No such channel"))))]
            var = get(msg, "Variable")
            if not var:
                return [(0, frame(self.response(msg, "Error",
                                                ("Message", "No variable specified"))))]
            return [(0, frame(self.response(msg, "Success", ("Variable", var),
                                            ("Value", srv.getvar(var)))))]
        if a == "userevent":
            srv.user_events.append(msg)
            out = [(0, frame(self.response(msg, "Success", ("Message", "Event Sent"))))]
            if "user" in self.events:
                hdrs = [(k, v) for k, v in msg if k.lower() not in ("action", "actionid", "userevent")]
                ev = [("Event", "UserEvent"), ("Privilege", "user,all"),
                      ("UserEvent", get(msg, "UserEvent") or "")] + hdrs
                if aid is not None:
                    ev.append(("ActionID", aid))
                out.append((0, frame(ev)))
            return out
        if a == "originate":
            chan = get(msg, "Channel")
            if not chan:
                return [(0, frame(self.response(msg, "Error", ("Message", "Channel not specified"))))]
            srv.originates.append(msg)
            reason = srv.originate_reason(chan)
            ok = reason == "4"
            if (get(msg, "Async") or "").lower() not in ("true", "yes", "1"):
                return [(1.0 if not ok else 0, frame(self.response(
                    msg, "Success" if ok else "Error",
                    ("Message", "Originate successfully queued" if ok else "Originate failed"))))]
            out = [(0, frame(self.response(msg, "Success",
                                           ("Message", "Originate successfully queued"))))]
            if "call" in self.events:
                ev = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
                if aid is not None:
                    ev.append(("ActionID", aid))
                ev += [("Response", "Success" if ok else "Failure"),
                       ("Channel", f"{chan}-00000029;1" if ok else chan)]
                if get(msg, "Application"):
                    ev += [("Application", get(msg, "Application")), ("Data", get(msg, "Data") or "")]
                else:
                    ev += [("Context", get(msg, "Context") or ""), ("Exten", get(msg, "Exten") or "")]
                ev += [("Reason", reason), ("Uniqueid", "1795673293.83" if ok else "<unknown>"),
                       ("CallerIDNum", "<unknown>"), ("CallerIDName", "<unknown>")]
                out.append((0.05, frame(ev)))
            return out
        return [(0, frame(self.response(
            msg, "Error", ("Message", f"Invalid/unknown command: {action}. Use Action: "
                                      f"ListCommands to show available commands."))))]


DEVICE_STATES = {"UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING",
                 "RINGINUSE", "ONHOLD"}
PRESENCE_STATES = {"not_set", "unavailable", "available", "away", "xa", "chat", "dnd"}
FUNC = re.compile(r"^(DEVICE_STATE|PRESENCE_STATE|GLOBAL)\((.*)\)$")


class Variables:
    """Setvar/Getvar as Asterisk 22 answers them (ami-B03, ami-B12): globals,
    DEVICE_STATE(Custom:...) and PRESENCE_STATE(CustomPresence:...)."""

    def setvar(self, var, value):
        if not var:
            return "Error", ("Message", "No variable specified")
        m = FUNC.match(var)
        if m and m.group(1) == "DEVICE_STATE":
            if not m.group(2).startswith("Custom:") or value.upper() not in DEVICE_STATES:
                return "Error", ("Message", "Variable not set")
            self.set_device(m.group(2), value.upper())
        elif m and m.group(1) == "PRESENCE_STATE":
            parts = value.split(",")
            if not m.group(2).startswith("CustomPresence:") or parts[0].lower() not in PRESENCE_STATES:
                return "Error", ("Message", "Variable not set")
            state, subtype, message = (parts + ["", ""])[:3]
            if len(parts) > 3 and "e" in parts[3]:
                message = base64.b64decode(message).decode()
            self.set_presence(m.group(2), state.lower(), message, subtype)
        else:
            self.globals[m.group(2) if m else var] = value
        return "Success", ("Message", "Variable Set")

    def getvar(self, var):
        m = FUNC.match(var)
        if m and m.group(1) == "DEVICE_STATE":
            return self.devices.get(m.group(2), "UNKNOWN")
        if m and m.group(1) == "PRESENCE_STATE":
            name, _, field = m.group(2).partition(",")
            state, subtype, message = self.custom_presence.get(name, ("not_set", "", ""))
            return {"value": state, "subtype": subtype, "message": message}.get(field, "")
        return self.globals.get(m.group(2) if m else var, "")


# The manager account the daemon logs in with in these tests.
USER, SECRET = "imstatus", "ami-secret"


def general_keys(fake, secret=SECRET):
    """im.conf [general] keys that point the daemon at @fake."""
    return f"amihost = 127.0.0.1\namiport = {fake.port}\namiuser = {USER}\namisecret = {secret}\n"


class FakeAmi(Variables):
    """An AMI server on 127.0.0.1:<free port> built on Manager."""

    def __init__(self, users=None, devices=None, hints=None):
        self.users = users or {USER: SECRET}
        self.devices = dict(devices or {})
        self.hints = dict(hints or {})  # (context, exten) -> (hint, StatusText)
        # queue -> interface -> {"name", "state", "paused", "reason"}
        self.queues = {}
        self.queue_actions = []  # (interface, queue or None, paused, reason) as asked
        self.globals, self.custom_presence = {}, {}
        self.actions, self.logins, self.user_events, self.originates = [], [], [], []
        self.originate_reason = lambda channel: "4"
        self.challenge = lambda: str(random.randint(100000000, 999999999))
        self._sessions = []
        self._lock = threading.Lock()
        self.sock = None
        self.port = None
        self.start()

    def start(self, port=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or self.port or 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _send(self, conn, data):
        try:
            conn.sendall(data)
        except OSError:
            pass

    def _serve(self, conn):
        m = Manager(self)
        with self._lock:
            self._sessions.append((conn, m))
        self._send(conn, GREETING)
        buf, deadline = b"", time.monotonic() + 30  # authtimeout (ami-B09)
        conn.settimeout(0.2)
        try:
            while not self._stop.is_set() and not m.closed:
                if not m.logged_in and time.monotonic() > deadline:
                    break
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                msgs, buf = take_messages(buf + data)
                for msg in msgs:
                    for delay, out in m.handle(msg):
                        if delay:
                            time.sleep(delay)
                        with self._lock:
                            self._send(conn, out)
                    if m.closed:
                        break
        except OSError:
            pass
        finally:
            with self._lock:
                self._sessions = [(c, s) for c, s in self._sessions if c is not conn]
            conn.close()

    def broadcast(self, event_pairs):
        cls = EVENT_CLASSES.get(event_pairs[0][1], "call")
        data = frame(event_pairs)
        with self._lock:
            for conn, m in self._sessions:
                if m.logged_in and cls in m.events:
                    self._send(conn, data)

    def set_device(self, device, state):
        """Like `devstate change`: an event only when the state changes (ami-B07)."""
        if self.devices.get(device) == state:
            return
        self.devices[device] = state
        self.broadcast([("Event", "DeviceStateChange"), ("Privilege", "call,all"),
                        ("Device", device), ("State", state)])

    def set_hint(self, context, exten, text):
        """A hint's state changed: ExtensionStatus to sessions with call
        events (ami-B07), only on a change."""
        hint, old = self.hints.get((context, exten), (f"Custom:{exten}", None))
        if old == text:
            return
        self.hints[(context, exten)] = (hint, text)
        self.broadcast([("Event", "ExtensionStatus"), ("Privilege", "call,all"), ("Exten", exten),
                        ("Context", context), ("Hint", hint),
                        ("Status", str(HINT_STATUS.get(text, -1))), ("StatusText", text)])

    def set_presence(self, name, state, message="", subtype=""):
        """A presence state changed (CLI `presencestate change`, or
        PRESENCE_STATE()): PresenceStateChange, then PresenceStatus for each
        hint that names it, to sessions with call events (ami-B07)."""
        if self.custom_presence.get(name) == (state, subtype, message):
            return
        self.custom_presence[name] = (state, subtype, message)
        self.broadcast([("Event", "PresenceStateChange"), ("Privilege", "call,all"),
                        ("Presentity", name), ("Status", state), ("Subtype", subtype),
                        ("Message", message)])
        for (context, exten), (hint, _) in list(getattr(self, "hints", {}).items()):
            if hint.partition(",")[2] == name:
                self.broadcast([("Event", "PresenceStatus"), ("Privilege", "call,all"),
                                ("Exten", exten), ("Context", context), ("Hint", hint),
                                ("Status", state), ("Subtype", subtype), ("Message", message)])

    def logged_in_sessions(self):
        with self._lock:
            return sum(1 for _, m in self._sessions if m.logged_in)

    def shutdown(self):
        """`core stop now`: Shutdown event, close every session, stop listening."""
        self.broadcast([("Event", "Shutdown"), ("Privilege", "system,all"),
                        ("Shutdown", "Cleanly"), ("Restart", "False")])
        self.stop()

    def stop(self):
        self._stop.set()
        with self._lock:
            for conn, _ in self._sessions:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.sock.close()
        self._accept_thread.join(2)


# ---- call files (callfile-*) ----

CALLFILE_KEYS = {"channel", "callerid", "application", "data", "maxretries", "retrytime",
                 "waittime", "context", "extension", "priority", "codecs", "setvar", "set",
                 "account", "alwaysdelete", "archive", "early_media", "startretry", "endretry",
                 "abortretry", "delayedretry", "retry"}


def read_callfile(text):
    """Reads a call file as Asterisk's pbx_spool does: returns (fields, log).
    fields: lowercased key -> list of values; log: Asterisk's complaints."""
    fields, log = {}, []
    for n, raw in enumerate(text.split("\n"), 1):
        if len(raw) > 1023:
            log.append(f"Line {n} too long, skipping")
            continue
        # '#' at the start or after a blank, and ';' unless written "\;", start comments.
        line, i, out = raw, 0, ""
        while i < len(line):
            c = line[i]
            if c == "\\" and line[i + 1:i + 2] == ";":
                out += ";"
                i += 2
                continue
            if c == ";" or (c == "#" and (i == 0 or line[i - 1] in " \t")):
                break
            out += c
            i += 1
        line = out.rstrip()
        if not line.strip():
            continue
        if ":" not in line:
            log.append(f"Syntax error at line {n}")
            continue
        k, _, v = line.partition(":")
        if k != k.strip() or k.lower() not in CALLFILE_KEYS:
            log.append(f"Unknown keyword '{k}' at line {n}")
            continue
        fields.setdefault(k.lower(), []).append(v.strip())
    if "channel" not in fields or not ("application" in fields or "extension" in fields):
        log.append("Invalid file contents, deleting")
    return fields, log
