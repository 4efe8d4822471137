"""A protocol-faithful Asterisk 22 for the FastAGI side of the tests.

Written from the real transcripts in tests/reference/asterisk22/ (agi-*):
it sends the environment as res_agi does, reads commands the way Asterisk
does (fgets into an 8192-byte buffer, so 8191 bytes a command; LF only, a CR
stays part of the line; one command at a time and a stall on pipelined ones),
splits words as res_agi's parse_args does (blanks, double quotes anywhere,
backslash makes the next byte literal, no C escapes, 128 words), answers with
the recorded codes and texts, keeps channel variables verbatim, evaluates
GET FULL VARIABLE like the dialplan for what the tests use (${VAR},
${DIALPLAN_EXISTS()}, ${LEN()}, ${CHANNEL(state)}, $[a+b]), applies SET
PRIORITY / SET CONTEXT / SET EXTENSION, sends asynchronous "HANGUP" lines and
goes to dead-channel mode (511), and writes a last "HANGUP" when the server
ends the session.  tests/integration/test_asterisk_peer.py replays every
recorded agi-* client side against it and compares with Asterisk's replies.
"""
import re
import select
import socket
import time

MAX_COMMAND = 8191  # AGI_BUF_LEN 8192 with fgets
MAX_WORDS = 128
GETVAR_MAX = 1023

USAGE = {
    b"set variable": [b"Sets a variable to the current channel."],
    b"get variable": [
        b"Returns <literal>0</literal> if <replaceable>variablename</replaceable> is not set. "
        b"Returns <literal>1</literal> if <replaceable>variablename</replaceable> is set and "
        b"returns the variable in parentheses.",
        b"Example return code: 200 result=1 (testvariable)"],
    b"get full variable": [
        b"Evaluates the given <replaceable>expression</replaceable> against the channel specified "
        b"by <replaceable>channelname</replaceable>, or the current channel if "
        b"<replaceable>channelname</replaceable> is not provided.",
        b"Unlike GET VARIABLE, the <replaceable>expression</replaceable> is processed in a manner "
        b"similar to dialplan evaluation, allowing complex and built-in variables to be accessed, "
        b"e.g. <literal>The time is ${EPOCH}</literal>",
        b"Returns <literal>0</literal> if no channel matching <replaceable>channelname</replaceable>"
        b" exists, <literal>1</literal> otherwise.",
        b"Example return code: 200 result=1 (The time is 1578493800)"],
    b"set priority": [b"Changes the priority for continuation upon exiting the application. "
                      b"The priority must be a valid priority or label."],
    b"set context": [b"Sets the context for continuation upon exiting the application."],
    b"set extension": [b"Changes the extension for continuation upon exiting the application."],
    b"verbose": [b"Sends <replaceable>message</replaceable> to the console via verbose message "
                 b"system. <replaceable>level</replaceable> is the verbose level (1-4). Always "
                 b"returns <literal>1</literal>"],
}
R_INVALID = b"510 Invalid or unknown command\n"
R_DEAD = b"511 Command Not Permitted on a dead channel or intercept routine\n"
# (command words, allowed on a dead channel)
COMMANDS = [
    ((b"noop",), True), ((b"answer",), False), ((b"hangup",), False), ((b"verbose",), True),
    ((b"set", b"variable"), True), ((b"get", b"variable"), True),
    ((b"get", b"full", b"variable"), True), ((b"set", b"priority"), False),
    ((b"set", b"context"), False), ((b"set", b"extension"), False),
    ((b"stream", b"file"), False),
]


def usage(cmd):
    lines = USAGE.get(cmd)
    if not lines:
        return b"520 Invalid command syntax.  Proper usage not available.\n"
    return (b"520-Invalid command syntax.  Proper usage follows:\n"
            + b"".join(l + b"\n" for l in lines) + b"520 End of proper usage.\n")


def split_words(line):
    """res_agi parse_args: blanks separate words, '"' groups (removed, may be
    mid-word, unterminated runs to the end), '\\' makes the next byte literal."""
    words, cur, in_word, quoted, escaped = [], bytearray(), False, False, False
    for b in line:
        c = bytes([b])
        if escaped:
            cur += c
            in_word, escaped = True, False
        elif c == b"\\":
            escaped = True
        elif c == b'"':
            quoted = not quoted
            in_word = True
        elif c in (b" ", b"\t") and not quoted:
            if in_word:
                words.append(bytes(cur))
                cur, in_word = bytearray(), False
        else:
            cur += c
            in_word = True
        if len(words) >= MAX_WORDS:
            break
    if in_word and len(words) < MAX_WORDS:
        words.append(bytes(cur))
    return words


def split_app_args(data):
    """The dialplan's argument parser for AGI(url,a,b,...): commas split except
    inside (...), '\\,' is a literal comma, double quotes are removed."""
    args, cur, depth, quoted, i = [], "", 0, False, 0
    while i < len(data):
        c = data[i]
        if c == "\\" and i + 1 < len(data):
            cur += data[i + 1]
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "(" and not quoted:
            depth += 1
            cur += c
        elif c == ")" and not quoted and depth:
            depth -= 1
            cur += c
        elif c == "," and not quoted and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    args.append(cur)
    return args


class Dialplan:
    """context -> exten -> {"prios": set of ints, "labels": {label: prio}}."""

    def __init__(self):
        self.ctx = {}

    def add(self, context, exten, prio, label=None):
        e = self.ctx.setdefault(context, {}).setdefault(exten, {"prios": set(), "labels": {}})
        e["prios"].add(prio)
        if label:
            e["labels"][label] = prio
        return self

    @classmethod
    def from_conf(cls, text):
        dp, context, last = cls(), None, {}
        for raw in text.splitlines():
            line = raw.split(";")[0].strip()
            m = re.match(r"^\[([^\]]+)\]", line)
            if m:
                context = m.group(1)
                continue
            m = re.match(r"^(exten|same)\s*=>\s*(.*)$", line)
            if not m or context is None:
                continue
            parts = m.group(2).split(",")
            if m.group(1) == "exten":
                exten, prio = parts[0].strip(), parts[1].strip()
            else:
                exten, prio = last.get(context), parts[0].strip()
            lm = re.match(r"^(\w+)\((\w+)\)$", prio)
            label = None
            if lm:
                prio, label = lm.group(1), lm.group(2)
            if prio == "n":
                n = max(dp.ctx[context][exten]["prios"]) + 1
            elif prio.isdigit():
                n = int(prio)
            else:
                continue  # hint
            if exten is None:
                continue
            dp.add(context, exten, n, label)
            last[context] = exten
        return dp

    def exists(self, context, exten, prio=None):
        e = self.ctx.get(context, {}).get(exten)
        if e is None:
            return False
        if prio is None:
            return True
        if prio.isdigit():
            return int(prio) in e["prios"]
        return prio in e["labels"]

    def label(self, context, exten, label):
        e = self.ctx.get(context, {}).get(exten)
        return e["labels"].get(label) if e else None


class Channel:
    def __init__(self, name="Local/1233@captest-00000001;2", context="captest", exten="1233",
                 priority=1, uniqueid="1795673171.43", dialplan=None, agisighup=True,
                 agiexitonhangup=False):
        self.name, self.context, self.exten = name, context, exten
        self.priority = priority  # the AGI() priority; continues at priority + 1
        self.uniqueid = uniqueid
        self.dialplan = dialplan or Dialplan()
        self.vars = {}
        self.dead = False
        self.agisighup, self.agiexitonhangup = agisighup, agiexitonhangup

    def builtin(self, name):
        return {b"CHANNEL": self.name.encode(), b"CONTEXT": self.context.encode(),
                b"EXTEN": self.exten.encode(), b"PRIORITY": str(self.priority).encode(),
                b"UNIQUEID": self.uniqueid.encode()}.get(name)

    def var(self, name):
        return self.vars.get(name, self.builtin(name))

    def function(self, name, args):
        if name == b"DIALPLAN_EXISTS":
            a = [x.decode() for x in args.split(b",")]
            if len(a) < 2:
                return b""
            return b"1" if self.dialplan.exists(a[0], a[1], a[2] if len(a) > 2 else None) else b"0"
        if name == b"LEN":
            return str(len(args)).encode()
        if name == b"CHANNEL" and args == b"state":
            return b"Ring"
        return None

    def evaluate(self, expr):
        """Dialplan substitution, left to right: ${NAME} and ${FUNC(args)} (the
        name itself substituted first), $[a+b] on its substituted text.  A
        substituted value is not scanned again (agi-A1: ${V_EXPR} stays $[1+2])."""
        out, i = bytearray(), 0
        while i < len(expr):
            if expr[i:i + 2] in (b"${", b"$["):
                close = b"}" if expr[i + 1:i + 2] == b"{" else b"]"
                depth, j = 1, i + 2
                while j < len(expr) and depth:
                    if expr[j:j + 2] in (b"${", b"$["):
                        depth += 1
                        j += 2
                        continue
                    if expr[j:j + 1] in (b"}", b"]"):
                        depth -= 1
                    j += 1
                inner = self.evaluate(expr[i + 2:j - 1])
                if close == b"}":
                    fm = re.match(rb"^([A-Z_0-9]+)\((.*)\)$", inner, re.S)
                    val = self.function(fm.group(1), fm.group(2)) if fm else self.var(inner)
                    out += val or b""
                else:
                    m = re.match(rb"^\s*(-?\d+)\s*([+\-*])\s*(-?\d+)\s*$", inner)
                    if m:
                        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
                        out += str(a + b if op == b"+" else a - b if op == b"-" else a * b).encode()
                    else:
                        out += inner
                i = j
            else:
                out += expr[i:i + 1]
                i += 1
        return bytes(out)


class Interpreter:
    """Runs AGI command lines against a Channel and returns Asterisk's replies."""

    def __init__(self, channel):
        self.chan = channel
        self.commands = []  # every command line received
        self.pending_hangup = False  # our own HANGUP: the async line follows

    def execute(self, line):
        self.commands.append(line)
        words = split_words(line)
        low = [w.lower() for w in words]
        best = None
        for cmd, dead_ok in COMMANDS:
            if tuple(low[:len(cmd)]) == cmd and (best is None or len(cmd) > len(best[0])):
                best = (cmd, dead_ok)
        if best is None:
            return R_INVALID
        cmd, dead_ok = best
        if self.chan.dead and not dead_ok:
            return R_DEAD
        args = words[len(cmd):]
        name = b" ".join(cmd)
        c = self.chan
        if cmd == (b"noop",):
            return b"200 result=0\n"
        if cmd == (b"answer",):
            return b"200 result=0\n"
        if cmd == (b"verbose",):
            return b"200 result=1\n" if 1 <= len(args) <= 2 else usage(name)
        if cmd == (b"hangup",):
            if not args or args[0] == c.name.encode():
                self.pending_hangup = True
                c.dead = True
                return b"200 result=1\n"
            return b"200 result=-1\n"
        if cmd == (b"set", b"variable"):
            if len(args) != 2:
                return usage(name)
            c.vars[args[0]] = args[1]
            return b"200 result=1\n"
        if cmd == (b"get", b"variable"):
            if len(args) != 1:
                return usage(name)
            if not args[0]:
                return b"200 result=0\n"
            fm = re.match(rb"^([A-Z_0-9]+)\((.*)\)$", args[0], re.S)
            val = c.function(fm.group(1), fm.group(2)) if fm else c.var(args[0])
            if val is None:
                return b"200 result=0\n"
            return b"200 result=1 (" + val[:GETVAR_MAX] + b")\n"
        if cmd == (b"get", b"full", b"variable"):
            if len(args) not in (1, 2):
                return usage(name)
            if len(args) == 2 and args[1] != c.name.encode():
                return b"200 result=0\n"
            return b"200 result=1 (" + c.evaluate(args[0]) + b")\n"
        if cmd == (b"set", b"priority"):
            if len(args) != 1:
                return usage(name)
            p = args[0].decode("utf-8", "replace")
            if p.isdigit():
                c.priority = int(p) - 1
            else:
                n = c.dialplan.label(c.context, c.exten, p)
                if n is None:
                    return usage(name)
                c.priority = n - 1
            return b"200 result=0\n"
        if cmd == (b"set", b"context"):
            if len(args) != 1:
                return usage(name)
            c.context = args[0].decode("utf-8", "replace")
            return b"200 result=0\n"
        if cmd == (b"set", b"extension"):
            if len(args) != 1:
                return usage(name)
            c.exten = args[0].decode("utf-8", "replace")
            return b"200 result=0\n"
        if cmd == (b"stream", b"file"):
            return b"200 result=0 endpos=0\n"
        return R_INVALID


def fgets_lines(data):
    """Splits bytes into commands as Asterisk's fgets(buf, 8192) does; the
    last element is the unterminated rest (b"" when data ended with LF)."""
    out, i = [], 0
    while True:
        nl = data.find(b"\n", i, i + MAX_COMMAND)
        if nl >= 0:
            out.append(data[i:nl])
            i = nl + 1
        elif len(data) - i >= MAX_COMMAND:
            out.append(data[i:i + MAX_COMMAND])
            i += MAX_COMMAND
        else:
            out.append(data[i:])
            return out


def environment(url, args, chan):
    """The environment lines res_agi sends, in its order."""
    m = re.match(r"^agi://([^/]+)(/(.*))?$", url)
    assert m, url
    env = [("agi_network", "yes")]
    if m.group(2) is not None:
        env.append(("agi_network_script", m.group(3)))
    env += [("agi_request", url), ("agi_channel", chan.name), ("agi_language", "en"),
            ("agi_type", "Local"), ("agi_uniqueid", chan.uniqueid),
            ("agi_version", "GIT-22-22.0.0-pre1-541-g69535d4837"),
            ("agi_callerid", "unknown"), ("agi_calleridname", "unknown"),
            ("agi_callingpres", "67"), ("agi_callingani2", "0"), ("agi_callington", "0"),
            ("agi_callingtns", "0"), ("agi_dnid", "unknown"), ("agi_rdnis", "unknown"),
            ("agi_context", chan.context), ("agi_extension", chan.exten),
            ("agi_priority", str(chan.priority)), ("agi_enhanced", "0.0"),
            ("agi_accountcode", ""), ("agi_threadid", "140193411811008")]
    env += [(f"agi_arg_{i + 1}", a) for i, a in enumerate(args)]
    return [f"{k}: {v}\n".encode() for k, v in env] + [b"\n"]


class Session:
    """One AGI() call: connects to a FastAGI server and plays Asterisk."""

    def __init__(self, port, app_data, channel=None, hangup_after=None, timeout=10.0):
        parts = split_app_args(app_data)
        self.url, self.args = parts[0], parts[1:]
        self.chan = channel or Channel()
        self.interp = Interpreter(self.chan)
        self.hangup_after = hangup_after  # send an async HANGUP after N commands
        self.timeout = timeout
        self.port = port
        self.wire_in = b""   # everything the server sent
        self.wire_out = b""  # everything we sent after the environment
        self.status = None   # AGISTATUS
        self.next_priority = None
        self.pipelined = False  # did the server send a command before its reply?

    def run(self):
        deadline = time.monotonic() + self.timeout
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        except ConnectionRefusedError:
            self.status = "FAILURE"
            self.next_priority = self.chan.priority + 1
            return self
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for line in environment(self.url, self.args, self.chan):
                sock.sendall(line)  # one write per line, as res_agi does
            buf, eof = b"", False
            while True:
                lines = fgets_lines(buf)
                complete, rest = lines[:-1], lines[-1]
                if complete:
                    cmd = complete[0]
                    buf = buf[len(cmd) + (1 if buf[len(cmd):len(cmd) + 1] == b"\n" else 0):]
                    self._reply(sock, self.interp.execute(cmd))
                    if self.chan.dead and self.chan.agiexitonhangup:
                        break
                    if len(complete) > 1:
                        self.pipelined = True
                    if len(complete) > 1 and not eof:
                        # Pipelined: Asterisk answers the next one only when more
                        # bytes arrive or the socket closes (agi-A4b).
                        r, _, _ = select.select([sock], [], [], max(0, deadline - time.monotonic()))
                        if not r:
                            raise TimeoutError("FastAGI server went silent")
                        data = sock.recv(65536)
                        if not data:
                            eof = True
                        self.wire_in += data
                        buf += data
                    continue
                if eof:
                    if rest:
                        self._reply(sock, self.interp.execute(rest))  # agi-A7d
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("FastAGI server went silent")
                sock.settimeout(remaining)
                data = sock.recv(65536)
                if not data:
                    eof = True
                    continue
                self.wire_in += data
                buf += data
            if self.chan.agisighup and not (self.chan.dead and self.chan.agiexitonhangup):
                try:
                    sock.sendall(b"HANGUP\n")  # written on every normal end (agi-A5b)
                except OSError:
                    pass
        except (ConnectionResetError, BrokenPipeError):
            pass  # agi-A7b: a reset still counts as SUCCESS
        finally:
            sock.close()
        self.status = "HANGUP" if self.chan.dead else "SUCCESS"
        self.next_priority = self.chan.priority + 1
        return self

    def _reply(self, sock, data):
        self.wire_out += data
        try:
            sock.sendall(data)
            if self.interp.pending_hangup and self.chan.agisighup:
                self.interp.pending_hangup = False
                sock.sendall(b"HANGUP\n")
            if (self.hangup_after is not None and len(self.interp.commands) == self.hangup_after
                    and not self.chan.dead):
                self.chan.dead = True
                if self.chan.agisighup:
                    sock.sendall(b"HANGUP\nHANGUP\n" if self.chan.agiexitonhangup else b"HANGUP\n")
        except OSError:
            pass

    @property
    def vars(self):
        return {k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape")
                for k, v in self.chan.vars.items()}

    @property
    def commands(self):
        return self.interp.commands


def agi(port, app_data, **kw):
    """AGI(app_data) on a fresh channel; returns the finished Session."""
    return Session(port, app_data, **kw).run()
