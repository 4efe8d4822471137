"""What the IM protocol test modules (oscar.py, ymsg.py, msnp.py) share: exact
reads, a bounded wait on a reader thread's queue, and loopback servers that
can drop every connection at once (a server going away)."""
import queue
import socket
import threading
import time


def read_exact(sock, n):
    """@n bytes, or None at EOF or on a socket error."""
    buf = b""
    while len(buf) < n:
        try:
            part = sock.recv(n - len(buf))
        except OSError:
            return None
        if not part:
            return None
        buf += part
    return buf


def wait_queue(q, match, timeout, what, seen=None):
    """The next item of @q (filled by a reader thread; None = closed) for
    which match(item) holds; seen(item) is called for every item on the way."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {what} in {timeout}s")
        try:
            item = q.get(timeout=left)
        except queue.Empty:
            continue
        if item is None:
            raise ConnectionError(f"the server closed the connection (waiting for {what})")
        if seen:
            seen(item)
        if match(item):
            return item


def shut(sock):
    """Shuts @sock both ways, whatever state it is in (wakes a blocked accept or recv)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Server:
    """Listening sockets on 127.0.0.1, each connection served on its own thread."""

    def __init__(self):
        self.conns = []
        self.listeners = []

    def listen(self, handler, port=0):
        """Serves @handler(conn) on @port (0: a free one); returns the port."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        self.listeners.append(s)
        threading.Thread(target=self._accept, args=(s, handler), daemon=True).start()
        return s.getsockname()[1]

    def _accept(self, lsock, handler):
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    def kick_all(self):
        """Drops every connection (the server went away)."""
        for c in self.conns:
            shut(c)

    def close(self):
        for s in self.listeners:
            shut(s)
            s.close()
        self.kick_all()
