"""A hostile XMPP server for the security tests: a real one as far as
libpurple can tell (STARTTLS with the test CA, SASL PLAIN, resource binding,
a roster), that then sends whatever a test scripts: absurd resources, roster
pushes from strangers, forged ping answers, floods from strangers.  Written
from RFC 6120/6121; one client connection at a time, on 127.0.0.1."""
import base64
import os
import re
import socket
import ssl
import threading
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

from harness import DOMAIN, free_port, make_server_cert

STREAM_NS = "http://etherx.jabber.org/streams"


def stream_header(sid):
    return (f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            f"xmlns:stream='{STREAM_NS}' from='{DOMAIN}' id='{sid}' version='1.0'>")


class Stream:
    """Reads one XML stream off a socket, stanza by stanza."""

    def __init__(self, sock):
        self.sock = sock
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.pending = []

    def next(self):
        """The next complete top-level element (None when the stream ends)."""
        while not self.pending:
            try:
                data = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                return None
            if not data:
                return None
            self.parser.feed(data)
            for ev, el in self.parser.read_events():
                if ev == "start":
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.pending.append(el)
        return self.pending.pop(0)


def local(tag):
    return tag.rsplit("}", 1)[-1]


class HostileXmpp:
    def __init__(self, directory, ca, password, roster):
        os.makedirs(directory, exist_ok=True)
        self.cert, self.key = make_server_cert(directory, *ca)
        self.ca_pem = ca[0]
        self.password = password
        self.roster = roster          # [(jid, subscription)]
        self.port = free_port()
        self.answer_pings = True
        self.received = []            # every stanza from the client, as text
        self.ready = threading.Event()  # the client sent its initial presence
        self.pings = []               # ids of the client's XEP-0199 pings
        self.sock = None
        self.conn = None
        self._lock = threading.Lock()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(4)
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    # ---- the protocol up to a session ----

    def _serve(self):
        self.srv.settimeout(0.2)
        while not self._stop:
            try:
                raw, _ = self.srv.accept()
            except OSError:
                continue
            try:
                self._session(raw)
            except (OSError, ssl.SSLError, ET.ParseError):
                pass
            finally:
                self.conn = None
                raw.close()

    def send(self, text):
        with self._lock:
            if self.conn is not None:
                self.conn.sendall(text.encode())

    def _session(self, raw):
        raw.settimeout(30)
        self.ready.clear()
        st = Stream(raw)
        self.conn = raw
        st.parser.feed(b"")
        self._header(st)
        self.send(stream_header("s1") + "<stream:features><starttls xmlns="
                  "'urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
        el = st.next()
        assert el is not None and local(el.tag) == "starttls", el
        self.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        tls = ctx.wrap_socket(raw, server_side=True)
        with self._lock:
            self.conn = tls
        st = Stream(tls)
        self._header(st)
        self.send(stream_header("s2") + "<stream:features><mechanisms xmlns="
                  "'urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
                  "</stream:features>")
        el = st.next()
        creds = base64.b64decode(el.text or "").split(b"\0")
        if local(el.tag) != "auth" or creds[-1].decode() != self.password:
            self.send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>"
                      "</failure></stream:stream>")
            return
        self.send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
        st = Stream(tls)
        self._header(st)
        self.send(stream_header("s3") + "<stream:features><bind xmlns="
                  "'urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns="
                  "'urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"
                  "</stream:features>")
        self.jid = None
        while True:
            el = st.next()
            if el is None:
                return
            self.received.append(ET.tostring(el, encoding="unicode"))
            self._stanza(el)

    def _header(self, st):
        # The client's stream header is a start event at depth 1: read until
        # the parser has seen it.
        while st.depth < 1:
            data = st.sock.recv(65536)
            if not data:
                raise OSError("closed")
            st.parser.feed(data)
            for ev, el in st.parser.read_events():
                st.depth += 1 if ev == "start" else -1
                if ev == "end" and st.depth == 1:
                    st.pending.append(el)

    def _stanza(self, el):
        tag, sid, typ = local(el.tag), el.get("id"), el.get("type")
        # An answer comes from whom the request went to (prpl-jabber checks).
        frm = f" from={quoteattr(el.get('to'))}" if el.get("to") else ""
        if tag == "iq" and typ in ("get", "set"):
            child = list(el)[0] if len(el) else None
            ns = child.tag.split("}")[0][1:] if child is not None and "}" in child.tag else ""
            if ns == "urn:ietf:params:xml:ns:xmpp-bind":
                res = child.find("{urn:ietf:params:xml:ns:xmpp-bind}resource")
                self.jid = f"robot@{DOMAIN}/{res.text if res is not None else 'x'}"
                self.send(f"<iq type='result' id={quoteattr(sid)}{frm}><bind xmlns="
                          f"'urn:ietf:params:xml:ns:xmpp-bind'><jid>{self.jid}</jid></bind></iq>")
            elif ns == "jabber:iq:roster" and typ == "get":
                items = "".join(f"<item jid={quoteattr(j)} subscription={quoteattr(s)}/>"
                                for j, s in self.roster)
                self.send(f"<iq type='result' id={quoteattr(sid)}{frm} to={quoteattr(self.jid)}>"
                          f"<query xmlns='jabber:iq:roster'>{items}</query></iq>")
            elif ns == "urn:xmpp:ping":
                self.pings.append(sid)
                if self.answer_pings:
                    self.send(f"<iq type='result' id={quoteattr(sid)} from='{DOMAIN}'/>")
            elif ns in ("urn:ietf:params:xml:ns:xmpp-session",):
                self.send(f"<iq type='result' id={quoteattr(sid)}{frm}/>")
            else:
                self.send(f"<iq type='error' id={quoteattr(sid)}{frm}><error type='cancel'>"
                          f"<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                          f"</error></iq>")
        elif tag == "presence" and el.get("to") is None and typ is None:
            self.ready.set()

    # ---- what the tests send ----

    def presence(self, frm, show=None, status=None):
        body = (f"<show>{show}</show>" if show else "") + \
            (f"<status>{status}</status>" if status else "")
        self.send(f"<presence from={quoteattr(frm)} to={quoteattr(self.jid)}>{body}</presence>")

    def close(self):
        self._stop = True
        try:
            self.send("</stream:stream>")
        except OSError:
            pass
        self.srv.close()
        self.thread.join(5)


def conf(server, password, subscribe=(), extra=""):
    lines = ["[aim1]", "type = jabber", f"username = robot@{DOMAIN}", f"secret = {password}",
             "host = 127.0.0.1", f"port = {server.port}", f"cafile = {server.ca_pem}"]
    if subscribe:
        lines.append("subscribe = " + ", ".join(subscribe))
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def count_sent(server, pattern):
    return sum(1 for s in server.received if re.search(pattern, s))
