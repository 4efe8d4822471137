"""A private, real Asterisk for the tests that need one: found through
ASTERISK_PREFIX or an `asterisk` on PATH; its own config, run, log, spool and
db directories in the test's temp dir; the manager (AMI) on a free loopback
port.  Tests that need it skip with one line where there is none."""
import os
import shutil
import socket
import subprocess

import pytest

from harness import bound_to_test, free_port, port_open, wait_for

MODULES = ["res_speech.so", "res_agi.so", "app_stack.so", "app_dial.so", "pbx_config.so", "chan_local.so", "func_strings.so", "func_cut.so",
           "app_userevent.so", "app_verbose.so", "func_devstate.so", "func_presencestate.so",
           "res_clioriginate.so", "func_logic.so", "app_db.so", "func_db.so", "pbx_spool.so",
           "app_exec.so", "app_echo.so", "app_playback.so", "func_callerid.so",
           "codec_ulaw.so", "format_pcm.so", "res_manager_devicestate.so",
           "res_manager_presencestate.so"]


def find_asterisk():
    prefix = os.environ.get("ASTERISK_PREFIX")
    if prefix:
        path = os.path.join(prefix, "sbin", "asterisk")
        return path if os.access(path, os.X_OK) else None
    path = shutil.which("asterisk")
    if path:
        return path
    default = "/opt/asterisk/sbin/asterisk"
    return default if os.access(default, os.X_OK) else None


def require_asterisk():
    path = find_asterisk()
    if path is None:
        pytest.skip("no real Asterisk (set ASTERISK_PREFIX or put asterisk on PATH)")
    return path


class Asterisk:
    def __init__(self, directory, binary, extensions="", manager_users=None, manager_extra="",
                 extra_modules=(), etc_files=None, modules=(), verbose=True, extra_docs=()):
        self.binary = binary
        self.prefix = os.path.dirname(os.path.dirname(binary))
        self.dir = directory
        self.etc = os.path.join(directory, "etc")
        self.ami_port = free_port()
        self.manager_users = manager_users or {"imstatus": ("another-s3cret", "all", "all")}
        for sub in ("etc", "run", "log", "spool/outgoing", "spool/tmp", "lib", "cache"):
            os.makedirs(os.path.join(directory, sub), exist_ok=True)
        moddir = os.path.join(self.prefix, "lib", "asterisk", "modules")
        if extra_modules:
            # A private module directory: Asterisk's modules and the ones under test.
            private = os.path.join(directory, "modules")
            os.makedirs(private, exist_ok=True)
            for m in os.listdir(moddir):
                os.symlink(os.path.join(moddir, m), os.path.join(private, m))
            for m in extra_modules:
                dst = os.path.join(private, os.path.basename(m))
                if os.path.lexists(dst):
                    os.unlink(dst)
                shutil.copy(m, dst)
            self.system_moddir, moddir = moddir, private
        self.extra_modules = [os.path.basename(m) for m in extra_modules]
        self.conf = os.path.join(self.etc, "asterisk.conf")
        self._write("asterisk.conf", f"""[directories]
astcachedir => {directory}/cache
astetcdir => {self.etc}
astmoddir => {moddir}
astvarlibdir => {directory}/lib
astdbdir => {directory}/lib
astkeydir => {directory}/lib
astdatadir => {self._datadir(directory, extra_docs)}
astagidir => {directory}/lib
astspooldir => {directory}/spool
astrundir => {directory}/run
astlogdir => {directory}/log
astsbindir => {os.path.dirname(binary)}
[options]
nofork = yes
""")
        self._write("modules.conf", "[modules]\nautoload = no\n"
                    + "".join(f"load => {m}\n" for m in MODULES + list(modules) + self.extra_modules
                              if os.path.exists(os.path.join(moddir, m))))
        for name, text in (etc_files or {}).items():
            self._write(name, text)
        users = "".join(f"[{u}]\nsecret = {s}\ndeny = 0.0.0.0/0.0.0.0\n"
                        f"permit = 127.0.0.1/255.255.255.255\nread = {r}\nwrite = {w}\n"
                        for u, (s, r, w) in self.manager_users.items())
        self._write("manager.conf", f"[general]\nenabled = yes\nport = {self.ami_port}\n"
                    f"bindaddr = 127.0.0.1\n{manager_extra}\n{users}")
        self._write("extensions.conf", "[general]\n[globals]\n" + extensions)
        self.verbose = verbose
        self._write("logger.conf", "[logfiles]\nmessages => notice,warning,error"
                    + (",verbose" if verbose else "") + "\n")
        self.proc = None

    def _datadir(self, directory, extra_docs):
        """Asterisk's data directory; with @extra_docs a private one whose
        documentation/thirdparty also holds them (XML docs of modules under test)."""
        system = os.path.join(self.prefix, "var", "lib", "asterisk")
        if not extra_docs:
            return system
        private = os.path.join(directory, "data")
        os.makedirs(os.path.join(private, "documentation", "thirdparty"), exist_ok=True)
        for name in os.listdir(system):
            if name != "documentation":
                os.symlink(os.path.join(system, name), os.path.join(private, name))
        sysdoc = os.path.join(system, "documentation")
        for name in os.listdir(sysdoc):
            if name != "thirdparty":
                os.symlink(os.path.join(sysdoc, name), os.path.join(private, "documentation", name))
        for doc in extra_docs:
            shutil.copy(doc, os.path.join(private, "documentation", "thirdparty"))
        return private

    def _write(self, name, text):
        with open(os.path.join(self.etc, name), "w") as f:
            f.write(text)

    def start(self):
        self.log = open(os.path.join(self.dir, "asterisk.out"), "wb")
        self.proc = subprocess.Popen(bound_to_test([self.binary, "-f"]
                                                   + (["-vvvv"] if self.verbose else [])
                                                   + ["-C", self.conf]), stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_for(lambda: port_open(self.ami_port) or self.proc.poll() is not None, 30,
                     what="Asterisk's manager port")
            if self.proc.poll() is not None:
                raise RuntimeError(f"asterisk exited {self.proc.returncode}: {self.output()}")
            # Returns once every module is loaded: only then may a call start.
            wait_for(lambda: "fully booted" in self.rx("core waitfullybooted").lower(), 30,
                     what="Asterisk fully booted")
        except BaseException:
            self.stop()
            raise
        return self

    def output(self):
        """Asterisk's own log (logger.conf: messages, verbose included)."""
        path = os.path.join(self.dir, "log", "messages")
        if not os.path.exists(path):
            path = os.path.join(self.dir, "asterisk.out")
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def rx(self, command):
        r = subprocess.run([self.binary, "-C", self.conf, "-rx", command], capture_output=True,
                           text=True, timeout=30)
        return r.stdout

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.rx("core stop now")
                self.proc.wait(20)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self.log.close()
        self.proc = None


def ami_session(port, timeout=10):
    """A raw manager connection, greeting read."""
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = c.makefile("rwb")
    f.readline()
    return c, f


def ami_send(f, pairs):
    f.write(b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs) + b"\r\n")
    f.flush()


def ami_read(f):
    msg = {}
    while True:
        line = f.readline()
        if not line:
            return msg
        line = line.decode().rstrip("\r\n")
        if line == "":
            if msg:
                return msg
            continue
        k, _, v = line.partition(": ")
        msg[k] = v
