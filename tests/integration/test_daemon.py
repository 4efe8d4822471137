"""The daemon as an administrator runs it: in the background with startup
failures reported to the terminal, and a control socket whose group gets only
the rights it was given."""
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from harness import IMCTL, IMSTATUSD, free_port, peer_conf, wait_for


def background(conf, timeout=30):
    """imstatusd without -f, as an init script would start it."""
    return subprocess.run([IMSTATUSD, "-c", conf], capture_output=True, text=True,
                          timeout=timeout)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def test_background_startup_failures_exit_nonzero(tmp_path):
    """Each failure the daemon can only find by trying: one line on stderr and
    exit status 1 from the command the admin typed, not 0 and a syslog line."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    try:
        state = tmp_path / "state"
        state.mkdir()
        (state / "imstatus.db").write_bytes(b"this is not an SQLite database" * 100)
        cases = {
            "agi port taken": (f"agibind = 127.0.0.1:{taken}\nstatedir = {tmp_path / 's1'}\n",
                               "agibind 127.0.0.1:%d" % taken),
            "bad database": (f"agibind = 127.0.0.1:{free_port()}\nstatedir = {state}\n",
                             "imstatus.db"),
            "statedir unusable": (f"agibind = 127.0.0.1:{free_port()}\n"
                                  f"statedir = {tmp_path / 'afile' / 'sub'}\n", "statedir"),
        }
        (tmp_path / "afile").write_text("a file, not a directory")
        for name, (general, expect) in cases.items():
            conf = str(tmp_path / f"{name.replace(' ', '-')}.conf")
            sock = tmp_path / f"{name.replace(' ', '-')}.sock"
            write(conf, f"[general]\ncontrolsocket = {sock}\n{general}")
            r = background(conf)
            assert r.returncode == 1, (name, r)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            assert len(lines) == 1 and lines[0].startswith("imstatusd: "), (name, r.stderr)
            assert expect in lines[0], (name, r.stderr)
            assert not sock.exists() or not _answers(str(sock)), name
    finally:
        busy.close()


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode() for a in f.read().split(b"\0") if a]
    except OSError:
        return None


def _answers(path):
    try:
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(1)
            c.connect(path)
            return True
    except OSError:
        return False


def test_background_start_succeeds_and_stops(tmp_path, prosody, robot):
    sock = str(tmp_path / "ctl.sock")
    conf = str(tmp_path / "im.conf")
    write(conf, f"[general]\ncontrolsocket = {sock}\nstatedir = {tmp_path / 'state'}\n"
                f"agibind = 127.0.0.1:{free_port()}\n"
                + peer_conf("aim1", robot[0], robot[1], prosody))
    r = background(conf)
    assert r.returncode == 0 and r.stderr == "", r
    # Ready means ready: the socket answers as soon as the command returned.
    out = subprocess.run([IMCTL, "-s", sock, "show", "peers"], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode == 0 and "aim1" in out.stdout
    pid = next(int(p) for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) ==
               [IMSTATUSD, "-c", conf])
    os.kill(pid, 15)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
             open(f"/proc/{pid}/stat").read().split()[2] == "Z", 15, what="imstatusd to exit")


@pytest.fixture
def shared_dir():
    """A directory an unprivileged user can traverse (pytest's are 0700)."""
    d = tempfile.mkdtemp(prefix="imstatus-ctl-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def as_nobody(*args):
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           IMCTL, *args], capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to act as another user")
def test_control_group_rights(prosody, robot, daemon, shared_dir):
    sock = os.path.join(shared_dir, "ctl.sock")
    conf = peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"])
    d = daemon(conf, start=False)
    d.socket = sock  # where the group can reach it (the harness dir is private)
    d.write_conf(conf, general_extra="controlgroup = nogroup")
    d.start()
    d.wait_peer("aim1", "Registered")
    st = os.stat(sock)
    assert oct(st.st_mode & 0o777) == "0o660" and st.st_gid == 65534

    # A group member reads, but may not send, reload or debug.
    r = as_nobody("-s", sock, "show", "peers")
    assert r.returncode == 0 and "aim1" in r.stdout, r.stderr
    assert as_nobody("-s", sock, "status", "aim1/buckaroo").returncode == 0
    for cmd in (["send", "aim1/buckaroo", "hi"], ["reload"], ["debug", "intense"]):
        r = as_nobody("-s", sock, *cmd)
        assert r.returncode == 1 and "permission denied" in r.stderr, (cmd, r)
    assert "uid 65534 refused: send" in d.read_log()
    assert d.read_log().count("reloaded") == 0

    # Given send, the group may send; root may do everything.
    d.write_conf(conf, general_extra="controlgroup = nogroup\ncontrolgrouprights = send")
    assert d.imctl("reload").stdout.strip() == "reloaded"
    r = as_nobody("-s", sock, "send", "aim1/buckaroo", "hi")
    assert r.returncode == 0, r.stderr
    assert as_nobody("-s", sock, "reload").returncode == 1


HOLD = """
import socket, sys, time
held, refused = [], 0
for _ in range(int(sys.argv[2])):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(5)
    c.connect(sys.argv[1])
    if c.recv(64).startswith(b"%imstatus "):
        c.sendall(b"watch\\n")
        held.append(c)
    else:
        refused += 1
print(len(held), refused, flush=True)
sys.stdin.read()
"""


def test_a_group_member_cannot_lock_out_the_rest(prosody, robot, daemon, shared_dir):
    # 32 watch connections from any control-group member locked everyone
    # out, root and the module included.
    sock = os.path.join(shared_dir, "ctl.sock")
    conf = peer_conf("aim1", robot[0], robot[1], prosody)
    d = daemon(conf, start=False)
    d.socket = sock
    d.write_conf(conf, general_extra="controlgroup = nogroup")
    d.start()
    d.wait_peer("aim1", "Registered")
    hog = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "/usr/bin/python3", "-c", HOLD, sock, "40"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        held, refused = map(int, hog.stdout.readline().split())
        assert held == 16 and refused == 24
        assert "uid 65534 refused: too many connections of this uid" in d.read_log()
        # Root (and the daemon's own user) still get in.
        assert "aim1" in d.imctl("-s", sock, "show", "peers").stdout
    finally:
        hog.stdin.close()
        hog.wait(10)

