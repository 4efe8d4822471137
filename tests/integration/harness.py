"""Real servers for the integration tests and the demo.

Prosody (Debian's) on 127.0.0.1 with a throwaway CA, users made by prosodyctl;
buddies are slixmpp clients, each on its own asyncio loop in a thread; the
daemon is the real imstatusd binary with its own temp dir and control socket.
Every wait is bounded; every process started here is stopped by its owner.
"""
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from xml.etree import ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("IMS_BUILD", os.path.join(ROOT, "build"))
IMSTATUSD = os.path.join(BUILD, "src", "daemon", "imstatusd")
IMCTL = os.path.join(BUILD, "src", "imctl", "imctl")
DOMAIN = "imstatus.test"


def bound_to_test(argv):
    """@argv started so that the kernel kills it when the test process dies
    (a timeout's SIGKILL, ^C during a fixture): no server outlives the run
    that started it, whatever its teardown got to do."""
    return ["setpriv", "--pdeathsig", "KILL", "--"] + list(argv)


_handed = set()


def free_port():
    """A port nobody listens on.  Under pytest-xdist each worker takes its
    ports from its own range below the kernel's ephemeral ones, so two
    workers never hand out the same port before either binds it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    k = int(worker[2:])
    lo = 12000 + k * 2000  # 12000..31999 for up to ten workers
    for _ in range(1000):
        port = random.randrange(lo, lo + 2000)
        if port in _handed:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port
    raise RuntimeError(f"no free port in {lo}..{lo + 1999}")


def control_watch(d, timeout=10):
    """A raw control connection that watches: (socket, its file, the
    snapshot's lines up to and with %synced).  The caller closes the socket."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect(d.socket)
    f = c.makefile("rwb")
    assert f.readline().startswith(b"%imstatus 1")
    f.write(b"watch\n")
    f.flush()
    assert f.readline() == b"%begin 0\n"
    assert f.readline() == b"%end 0\n"
    lines = []
    while not lines or lines[-1] != b"%synced\n":
        lines.append(f.readline())
        assert lines[-1], "the daemon closed the watch"
    return c, f, lines


def wait_for(cond, timeout=10.0, interval=0.02, what="condition"):
    """Polls cond() until it returns a truthy value; raises after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60, **kw)


def make_ca(d, name):
    """A throwaway CA (EC P-256), returns (cert path, key path)."""
    os.makedirs(d, exist_ok=True)
    key, pem = os.path.join(d, f"{name}.key"), os.path.join(d, f"{name}.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", pem, "-days", "2", "-subj", f"/CN={name}"])
    return pem, key


def make_server_cert(d, ca_pem, ca_key, hostnames=(DOMAIN, "localhost"), ips=("127.0.0.1",)):
    key, csr, pem = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(d, "server.ext")
    san = ",".join([f"DNS:{h}" for h in hostnames] + [f"IP:{i}" for i in ips])
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", csr, "-subj", f"/CN={hostnames[0]}"])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
         "-CAcreateserial", "-out", pem, "-days", "2", "-extfile", ext])
    return pem, key


class Prosody:
    """A private Prosody on 127.0.0.1:<free port>."""

    def __init__(self, directory, ca=None, component=None, component_secret="s3cret",
                 privileged=True, more_components=()):
        """component: the JID of an XEP-0114 component to accept (on
        self.component_port), privileged (mod_privilege from Debian's
        prosody-modules) to see every user's presence unless not
        @privileged; more_components: others like it (another PBX's), on
        the same port with the same secret."""
        self.dir = directory
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.component, self.component_secret = component, component_secret
        self.component_port = free_port() if component else None
        # Every component on the one port.
        self.component_ports = {c: self.component_port for c in [component, *more_components]
                                if component}
        self.ca_pem, self.ca_key = ca or make_ca(os.path.join(self.dir, "ca"), "imstatus-test-CA")
        self.cert, self.key = make_server_cert(self.dir, self.ca_pem, self.ca_key)
        self.config = os.path.join(self.dir, "prosody.cfg.lua")
        self.proc = None
        self.log = os.path.join(self.dir, "prosody.log")
        with open(self.config, "w") as f:
            f.write(f"""
certificates = "{self.dir}"
pidfile = "{self.dir}/prosody.pid"
data_path = "{self.dir}/data"
run_as_root = true
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.port} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
network_settings = {{ nagle = false }}
log = {{ info = "{self.log}" }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "presence"; "message"{'; "privilege"' if component else ''} }}
modules_disabled = {{ "s2s" }}
authentication = "internal_plain"
c2s_require_encryption = true
ssl = {{ key = "{self.key}"; certificate = "{self.cert}" }}
""")
            if component:
                f.write(f"""component_ports = {{ {self.component_port} }}
component_interfaces = {{ "127.0.0.1" }}
""")
            f.write(f'VirtualHost "{DOMAIN}"\n')
            components = [component, *more_components] if component else []
            if component and privileged:
                f.write("privileged_entities = { " + "; ".join(
                    f'["{c}"] = {{ presence = "managed_entity" }}' for c in components) + " }\n")
            for c in components:
                f.write(f'Component "{c}"\ncomponent_secret = "{component_secret}"\n'
                        'modules_enabled = { "privilege" }\n')
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)

    def register(self, user, password):
        run(["prosodyctl", "--config", self.config, "register", user, DOMAIN, password])
        return f"{user}@{DOMAIN}"

    def start(self):
        with open(os.path.join(self.dir, "prosody.out"), "a") as out:
            self.proc = subprocess.Popen(bound_to_test(["prosody", "--config", self.config, "-F"]),
                                         stdout=out, stderr=subprocess.STDOUT, cwd=self.dir)
        wait_for(lambda: (port_open(self.port) and (not self.component_port
                                                    or port_open(self.component_port)))
                 or self.proc.poll() is not None, 15, what="prosody to listen")
        if self.proc.poll() is not None:
            raise RuntimeError(f"prosody exited: {open(os.path.join(self.dir, 'prosody.out')).read()}")

    def server_pid(self):
        """The process that serves XMPP (to freeze it with SIGSTOP)."""
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        wait_for(lambda: not port_open(self.port), 10, what="prosody port to close")


class Buddy:
    """A real, independent XMPP client (slixmpp) driven from the test thread."""

    def __init__(self, jid, password, port, ca_pem, resource="phone", auto_authorize=True,
                 initial_presence=True):
        import slixmpp
        self.jid = jid
        self._initial_presence = initial_presence
        self.messages = []
        self.presences = {}  # bare jid -> (type, show, status) of the last presence
        self.presence_log = []  # (bare jid, type, show, status) in arrival order
        self.subscription_requests = []
        self._ready = threading.Event()
        self._failed = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        def build():
            asyncio.set_event_loop(self._loop)
            x = slixmpp.ClientXMPP(f"{jid}/{resource}", password)
            x.auto_authorize = auto_authorize
            x.auto_subscribe = auto_authorize
            x.ssl_context.load_verify_locations(ca_pem)
            x.add_event_handler("session_start", self._on_start)
            x.add_event_handler("message", self._on_message)
            x.add_event_handler("presence", self._on_presence)
            x.add_event_handler("failed_auth", lambda *_: self._fail("auth"))
            x.add_event_handler("presence_subscribe",
                                lambda p: self.subscription_requests.append(str(p["from"])))
            x.register_plugin("xep_0199")
            x.connect(address=("127.0.0.1", port))
            return x

        self.xmpp = self._call(build)
        if not self._ready.wait(15):
            raise TimeoutError(f"{jid} did not log in ({self._failed})")

    def _fail(self, why):
        self._failed = why

    def _call(self, fn):
        fut = asyncio.run_coroutine_threadsafe(self._as_coro(fn), self._loop)
        return fut.result(15)

    @staticmethod
    async def _as_coro(fn):
        return fn()

    async def _on_start(self, _event):
        await self.xmpp.get_roster()
        if self._initial_presence:
            self.xmpp.send_presence()
        self._ready.set()

    def _on_presence(self, p):
        self.presences[p["from"].bare] = (p["type"], p["show"], p["status"])
        self.presence_log.append((p["from"].bare, p["type"], p["show"], p["status"]))

    def wait_presence(self, bare, pred, timeout=10):
        return wait_for(lambda: (lambda v: v if v and pred(v) else None)(self.presences.get(bare)),
                        timeout, what=f"presence of {bare} at {self.jid}")

    def _on_message(self, msg):
        if msg["type"] in ("chat", "normal"):
            self.messages.append((str(msg["from"]), msg["body"]))

    def presence(self, show=None, status=None, priority=0, idle_since=None, idle_seconds=None,
                 raw_status=None):
        """Sends available presence.  idle_since: XEP-0319 timestamp (ISO 8601);
        idle_seconds: XEP-0256 jabber:iq:last in the presence."""
        def send():
            p = self.xmpp.make_presence(pshow=show, pstatus=status, ppriority=priority)
            if idle_since is not None:
                ET.SubElement(p.xml, "{urn:xmpp:idle:1}idle", since=idle_since)
            if idle_seconds is not None:
                ET.SubElement(p.xml, "{jabber:iq:last}query", seconds=str(idle_seconds))
            p.send()
        self._call(send)

    def send_raw(self, data):
        self._call(lambda: self.xmpp.send_raw(data))

    def unavailable(self):
        self._call(lambda: self.xmpp.make_presence(ptype="unavailable").send())

    def send_message(self, to, body):
        self._call(lambda: self.xmpp.send_message(mto=to, mbody=body, mtype="chat"))

    def wait_message(self, pred=lambda m: True, timeout=10):
        return wait_for(lambda: next((m for m in self.messages if pred(m)), None), timeout,
                        what=f"a message to {self.jid}")

    def close(self):
        if self._loop.is_closed():
            return

        def disc():
            self.xmpp.disconnect(wait=0.5)
        try:
            self._call(disc)
            wait_for(lambda: not self.xmpp.is_connected(), 5, what="disconnect")
        except Exception:
            pass
        async def cancel_all():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), self._loop).result(5)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


class Daemon:
    """imstatusd in the foreground on a private im.conf and control socket."""

    def __init__(self, directory, peers_conf, general_extra=""):
        self.dir = directory
        os.makedirs(self.dir, exist_ok=True)
        self.statedir = os.path.join(self.dir, "state")
        self.socket = os.path.join(self.dir, "ctl.sock")
        self.conf = os.path.join(self.dir, "im.conf")
        self.log = os.path.join(self.dir, "imstatusd.log")
        self.agi_port = free_port()
        self.proc = None
        self.write_conf(peers_conf, general_extra)

    def write_conf(self, peers_conf, general_extra=""):
        with open(self.conf, "w") as f:
            f.write(f"[general]\nstatedir = {self.statedir}\ncontrolsocket = {self.socket}\n"
                    f"agibind = 127.0.0.1:{self.agi_port}\n{general_extra}\n{peers_conf}")
        os.chmod(self.conf, 0o600)

    def start(self, debug=1, wait=True, nofile=None):
        # nofile: the descriptor limit (soft and hard) the daemon runs with.
        limit = ["prlimit", f"--nofile={nofile}:{nofile}", "--"] if nofile else []
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(bound_to_test(limit + [IMSTATUSD, "-f", "-d", str(debug), "-c", self.conf]),
                                         stdout=subprocess.DEVNULL, stderr=log)
        if wait:
            wait_for(lambda: self._socket_answers() or self.proc.poll() is not None, 15,
                     what="the control socket")
            if self.proc.poll() is not None:
                raise RuntimeError(f"imstatusd exited {self.proc.returncode}: {self.read_log()}")
        return self

    def _socket_answers(self):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.settimeout(1)
                c.connect(self.socket)
                return c.recv(32).startswith(b"%imstatus ")
        except OSError:
            return False

    def read_log(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_tail(self):
        """The end of the daemon's log, for a failed wait's message."""
        return f"{self.log} ends:\n{self.read_log()[-2000:]}"

    def imctl(self, *args, check=True, timeout=30):
        r = subprocess.run([IMCTL, "-s", self.socket, *args], capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"imctl {args} failed: {r.stderr}")
        return r

    def json(self, *args):
        return json.loads(self.imctl("--json", *args).stdout)

    def peer(self, name):
        return next(p for p in self.json("show", "peers") if p["name"] == name)

    def status(self, target):
        return self.json("status", target)

    def wait_peer(self, name, status, timeout=15):
        try:
            return wait_for(lambda: (lambda p: p if p["status"] == status else None)(self.peer(name)),
                            timeout, what=f"peer {name} to be {status}")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.log_tail()}") from None

    def wait_status(self, target, timeout=10, **want):
        def check():
            s = self.status(target)
            return s if all(s.get(k) == v for k, v in want.items()) else None
        try:
            return wait_for(check, timeout, what=f"{target} to have {want}")
        except TimeoutError as e:
            raise AssertionError(f"{e}; now {self.status(target)}\n{self.log_tail()}") from None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("imstatusd did not exit on SIGTERM within 15 s")
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc


def peer_conf(name, user, password, prosody, subscribe=(), extra=""):
    lines = [f"[{name}]", "type = jabber", f"username = {user}", f"secret = {password}",
             "host = 127.0.0.1", f"port = {prosody.port}", f"cafile = {prosody.ca_pem}"]
    if subscribe:
        lines.append("subscribe = " + ", ".join(subscribe))
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


class Gate:
    """A TCP relay 127.0.0.1:port -> target that holds new connections until
    opened: makes "the peer is still logging in" last as long as a test wants."""

    def __init__(self, target_port):
        self.target = target_port
        self.open = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._relay, args=(client,), daemon=True)
            t.start()

    def _relay(self, client):
        while not self.open.wait(0.05):
            if self._stop.is_set():
                client.close()
                return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            client.close()
            return
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, a, b):
        try:
            while not self._stop.is_set():
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._stop.set()
        self.sock.close()
        self._threads[0].join(2)


class Ejabberd:
    """A private ejabberd (Debian's) on 127.0.0.1:<free port>, the second XMPP
    server the suite runs against (IMS_XMPP=ejabberd).  Same interface as
    Prosody.  ejabberdctl runs the node as the 'ejabberd' user, so its files
    live in a directory that user owns; Erlang distribution stays on loopback."""

    def __init__(self, directory, ca=None, component=None, component_secret="s3cret",
                 privileged=True, more_components=()):
        """component, more_components: as for Prosody (ejabberd_service, and
        mod_privilege's presence managed_entity unless not @privileged)."""
        self.component, self.component_secret = component, component_secret
        self.more_components = list(more_components)
        # One listener per component: ejabberd_service gives every host of
        # a listener to the first component that authenticates there.
        self.component_ports = {c: free_port() for c in [component, *more_components]
                                if component}
        self.component_port = self.component_ports.get(component)
        import pwd
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="imstatus-ejabberd-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.node = f"imstest{self.port}@localhost"
        self.ca_pem, self.ca_key = ca or make_ca(os.path.join(directory, "ca"), "imstatus-test-CA")
        cert, key = make_server_cert(self.dir, self.ca_pem, self.ca_key)
        self.pem = os.path.join(self.dir, "server-full.pem")
        with open(self.pem, "w") as out:
            out.write(open(cert).read() + open(key).read())
        self.config = os.path.join(self.dir, "ejabberd.yml")
        with open(self.config, "w") as f:
            f.write(f"""hosts: ["{DOMAIN}"]
loglevel: info
certfiles: ["{self.pem}"]
listen:
  - port: {self.port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
{self._component_listen()}auth_method: internal
auth_password_format: plain
s2s_access: none
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
modules:
  mod_roster: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
  mod_offline: {{}}
  mod_last: {{}}
{self._privilege_module(privileged)}""")
        self.ctl = os.path.join(self.dir, "ejabberdctl.cfg")
        with open(self.ctl, "w") as f:
            f.write('ERL_EPMD_ADDRESS=127.0.0.1\nINET_DIST_INTERFACE=127.0.0.1\n'
                    'FIREWALL_WINDOW=""\nERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\n')
        for d in ("db", "log"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        pw = pwd.getpwnam("ejabberd")
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files + ["."]:
                os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
        self.proc = None

    def _component_listen(self):
        if not self.component:
            return ""
        return "".join(f"  - port: {port}\n    ip: \"127.0.0.1\"\n"
                       f"    module: ejabberd_service\n    hosts:\n      \"{c}\":\n"
                       f"        password: \"{self.component_secret}\"\n"
                       for c, port in self.component_ports.items())

    def _privilege_module(self, privileged):
        if not (self.component and privileged):
            return ""
        return "  mod_privilege:\n    presence:\n      managed_entity: all\n"

    def ctlcmd(self, *args, timeout=60):
        return subprocess.run(["ejabberdctl", "--config-dir", self.dir, "--config", self.config,
                               "--ctl-config", self.ctl, "--spool", os.path.join(self.dir, "db"),
                               "--logs", os.path.join(self.dir, "log"), "--node", self.node, *args],
                              capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, ERL_EPMD_ADDRESS="127.0.0.1"))

    def start(self):
        self.proc = subprocess.Popen(
            ["ejabberdctl", "--config-dir", self.dir, "--config", self.config, "--ctl-config",
             self.ctl, "--spool", os.path.join(self.dir, "db"), "--logs",
             os.path.join(self.dir, "log"), "--node", self.node, "foreground"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env=dict(os.environ, ERL_EPMD_ADDRESS="127.0.0.1"))
        wait_for(lambda: (port_open(self.port) and (not self.component_port
                                                    or port_open(self.component_port)))
                 or self.proc.poll() is not None, 60, what="ejabberd to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("ejabberd exited; see " + self.dir)
        for user, pw in getattr(self, "_pending", []):
            self.register(user, pw)
        self._pending = []

    def server_pid(self):
        r = subprocess.run(["pgrep", "-f", f"beam.*{self.node}"], capture_output=True, text=True)
        return int(r.stdout.split()[0])

    def register(self, user, password):
        if self.proc is None:
            self._pending = getattr(self, "_pending", []) + [(user, password)]
        else:
            r = self.ctlcmd("register", user, DOMAIN, password)
            if r.returncode != 0 and "already registered" not in (r.stdout + r.stderr):
                raise RuntimeError(f"ejabberdctl register: {r.stdout} {r.stderr}")
        return f"{user}@{DOMAIN}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.ctlcmd("stop", timeout=30)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        wait_for(lambda: not port_open(self.port), 20, what="ejabberd port to close")
        # ejabberdctl started Erlang's port mapper; stop it too once no node
        # is left registered there.
        names = subprocess.run(["epmd", "-names"], capture_output=True, text=True,
                               env=dict(os.environ, ERL_EPMD_ADDRESS="127.0.0.1"))
        if names.returncode == 0 and "name " not in names.stdout:
            subprocess.run(["epmd", "-kill"], capture_output=True,
                           env=dict(os.environ, ERL_EPMD_ADDRESS="127.0.0.1"))

    def cleanup(self):
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)
