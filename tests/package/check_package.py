"""The Debian package: it builds from a copy of this tree with only Debian
packages, lintian finds no error, it holds what an administrator needs, and
(as root, on a machine where imstatus is not installed already) it installs,
runs with the installed unit's command line, removes and purges cleanly.

Exit 77 (meson: skipped) with one line where the tools are missing."""
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEEDED = ["dpkg-buildpackage", "lintian", "dh", "scdoc"]
CONTENTS = ["./usr/sbin/imstatusd", "./usr/bin/imctl", "./lib/systemd/system/imstatusd.service",
            "./usr/share/man/man8/imstatusd.8.gz", "./usr/share/man/man1/imctl.1.gz",
            "./usr/share/man/man5/im.conf.5.gz",
            "./usr/share/doc/imstatus/examples/im.conf.sample",
            "./usr/share/doc/imstatus/examples/extensions.conf.sample"]


def run(cmd, **kw):
    print("$", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAILED ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def source_files():
    if shutil.which("git") and os.path.isdir(os.path.join(ROOT, ".git")):
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"],
                             capture_output=True, check=True).stdout
        return [f for f in out.decode().split("\0") if f]
    files = []
    for d, dirs, names in os.walk(ROOT):
        dirs[:] = [x for x in dirs if not x.startswith(("build", "obj-", ".git"))]
        files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
    return files


def build(work):
    src = os.path.join(work, "imstatus")
    for f in source_files():
        if os.path.isfile(os.path.join(ROOT, f)):
            os.makedirs(os.path.dirname(os.path.join(src, f)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), os.path.join(src, f))
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
        env=dict(os.environ, DEB_BUILD_OPTIONS="parallel=2"))
    debs = [f for f in os.listdir(work) if re.fullmatch(r"imstatus_[^_]+_amd64\.deb", f)]
    assert len(debs) == 1, os.listdir(work)
    return os.path.join(work, debs[0])


def installed():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "imstatus"], capture_output=True,
                       text=True)
    return "install ok installed" in r.stdout


def daemons():
    pids = []
    for p in os.listdir("/proc"):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0] == b"/usr/sbin/imstatusd":
            pids.append(int(p))
    return pids


def wait(cond, what, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    sys.exit(f"FAILED: {what} within {timeout} s")


def install_cycle(deb, work):
    run(["dpkg", "-i", deb])
    user = pwd.getpwnam("imstatus")
    st = os.stat("/var/lib/imstatus")
    assert st.st_uid == user.pw_uid and st.st_mode & 0o777 == 0o700, oct(st.st_mode)
    sample = "/usr/share/doc/imstatus/examples/im.conf.sample"
    r = run(["/usr/sbin/imstatusd", "-n", "-c", sample])
    assert "configuration OK" in r.stdout
    if shutil.which("systemd-analyze"):
        run(["systemd-analyze", "verify", "--man=no", "/lib/systemd/system/imstatusd.service"])

    # The unit's own command line, as its user, on a private configuration.
    with open("/lib/systemd/system/imstatusd.service") as f:
        unit = f.read()
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
    assert exec_start[:2] == ["/usr/sbin/imstatusd", "-f"], exec_start
    home = os.path.join(work, "run")
    os.makedirs(home)
    conf = os.path.join(home, "im.conf")
    sock = os.path.join(home, "imstatusd.sock")
    with open(conf, "w") as f:
        f.write(f"[general]\nstatedir = {home}/state\ncontrolsocket = {sock}\n"
                "agibind = 127.0.0.1:0\n"
                "[aim1]\ntype = jabber\nusername = robot@127.0.0.1\nsecret = x\nport = 9\n")
    for p in (work, home):
        os.chmod(p, 0o755)
    os.chown(home, user.pw_uid, user.pw_gid)
    os.chown(conf, user.pw_uid, user.pw_gid)
    os.chmod(conf, 0o600)
    cmd = exec_start[:exec_start.index("-c") + 1] + [conf]
    proc = subprocess.Popen(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                             "--clear-groups", *cmd], stderr=subprocess.PIPE, text=True)
    try:
        wait(lambda: os.path.exists(sock) or proc.poll() is not None, "the control socket")
        out = run(["/usr/bin/imctl", "-s", sock, "show", "peers"]).stdout
        assert "aim1" in out and "jabber" in out, out
    finally:
        proc.terminate()
        proc.wait(15)

    # The package's daemon (its user's) does not outlive the package; one
    # that root started with a configuration of its own is root's to stop.
    hand = subprocess.Popen(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                             "--clear-groups", "/usr/sbin/imstatusd", "-f", "-c", conf],
                            stderr=subprocess.DEVNULL)
    wait(lambda: os.path.exists(sock), "the package user's daemon")
    other_home = os.path.join(work, "other")
    os.makedirs(other_home)
    other_conf = os.path.join(other_home, "im.conf")
    other_sock = os.path.join(other_home, "imstatusd.sock")
    with open(other_conf, "w") as f:
        f.write(f"[general]\nstatedir = {other_home}/state\ncontrolsocket = {other_sock}\n"
                "agibind = 127.0.0.1:0\n")
    os.chmod(other_conf, 0o600)
    other = subprocess.Popen(["/usr/sbin/imstatusd", "-f", "-c", other_conf],
                             stderr=subprocess.DEVNULL)
    wait(lambda: os.path.exists(other_sock), "root's own daemon")
    run(["dpkg", "-r", "imstatus"])
    hand.wait(30)
    assert other.poll() is None, "prerm stopped a daemon that is not the package's"
    other.terminate()
    other.wait(15)
    assert daemons() == [], daemons()
    assert os.path.isdir("/var/lib/imstatus"), "remove keeps the state"
    run(["dpkg", "--purge", "imstatus"])
    assert not os.path.exists("/var/lib/imstatus"), "purge removes the state"


def main():
    missing = [t for t in NEEDED if shutil.which(t) is None]
    if missing:
        print(f"SKIP: no {', '.join(missing)} (apt-get install dpkg-dev debhelper lintian scdoc)")
        return 77
    work = tempfile.mkdtemp(prefix="imstatus-deb-")
    try:
        deb = build(work)
        run(["lintian", "--fail-on", "error", deb])
        listing = run(["dpkg-deb", "-c", deb]).stdout
        names = [line.split()[-1] for line in listing.splitlines()]
        for want in CONTENTS:
            assert want in names, f"{want} not in the package"
        print(f"built and linted {os.path.basename(deb)}")
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            print("not root: install, remove and purge not tried")
        elif installed():
            print("imstatus is installed on this machine: install cycle not tried")
        else:
            install_cycle(deb, work)
            print("installed, ran with the unit's command line, removed, purged")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
