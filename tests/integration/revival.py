"""The real revival servers, for the live runs of the native-driver tests.

Set IMS_REVIVAL to a directory prepared with the revival kit (setup.sh, then
start.sh; the ports come from its run/ports.env) where these accounts exist
(the kit's adduser.sh):

    aim   imsrobot robotpw    aim   imsbuck buckpw
    yahoo imsrobot robotpw    yahoo imsbuck buckpw
    msn   imsrobot robotpw    msn   imsbuck buckpw     (@hotmail.com)
    aim   pinkys-asterisk pinkypw   aim   buckaroo buckpw   (the seed's names)

OWAIM exits when it writes to a session whose socket has closed (a user
between its auth and BOS connections while a buddy changes status); .ci/run
adds a one-line guard to its server.js before starting it.

Without it the live cases skip with one line and the faithful fakes
(oscar.py, ...) carry the suite.
"""
import os

import pytest

DIR = os.environ.get("IMS_REVIVAL")
ROBOT = ("imsrobot", "robotpw")
BUDDY = ("imsbuck", "buckpw")
SEED_ROBOT = ("pinkys-asterisk", "pinkypw")
SEED_BUDDY = ("buckaroo", "buckpw")


def ports():
    if not DIR:
        pytest.skip("live revival server: set IMS_REVIVAL (see tests/integration/revival.py)")
    path = os.path.join(DIR, "run", "ports.env")
    if not os.path.exists(path):
        pytest.skip(f"live revival server: no {path} (run the kit's start.sh)")
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if v.isdigit():
                out[k] = int(v)
    # A server that died earlier in the run fails here with its last words,
    # not as a refused connection in the middle of a test.
    for name in ("owaim", "escargot"):
        pidfile, log = (os.path.join(DIR, "run", f"{name}{ext}") for ext in (".pid", ".log"))
        try:
            with open(pidfile) as f:
                with open(f"/proc/{int(f.read().strip())}/stat") as st:
                    alive = st.read().rpartition(")")[2].split()[0] != "Z"
        except (OSError, ValueError):
            alive = False
        if not alive:
            tail = ""
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    tail = "".join(f.readlines()[-12:])
            pytest.fail(f"live revival server {name} is not running (log {log}):\n{tail}", pytrace=False)
    return out
