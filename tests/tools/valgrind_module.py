#!/usr/bin/python3
"""app_imstatus.so under valgrind inside a real Asterisk 22: load, calls
through IMStatus/IMSend/IM_STATUS, unload, load again, the daemon restarted
under it, unload, stop.  Fails on any invalid read, write or free, use of
uninitialised memory, or a definitely lost block.  About 2 minutes:

    make valgrind-module        (needs valgrind and ASTERISK_PREFIX)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402
import real_asterisk  # noqa: E402
from harness import DOMAIN, peer_conf, wait_for  # noqa: E402

MODULE = os.path.join(harness.BUILD, "src", "asterisk", "app_imstatus.so")
DIALPLAN = ("[t]\nexten => s,1,IMStatus(aim1/buckaroo)\n"
            " same => n,IMSend(aim1/buckaroo/hi, there)\n"
            " same => n,NoOp(DONE|${IM-STATUS}|${IM_STATUS(aim1/buckaroo,show)}|${IM-SENDSTATUS})\n")


def main():
    binary = real_asterisk.find_asterisk()
    if binary is None or not os.path.exists(MODULE) or shutil.which("valgrind") is None:
        print("SKIP: needs a real Asterisk, app_imstatus.so built, and valgrind")
        return 77
    work = tempfile.mkdtemp(prefix="imstatus-vg-")
    p = harness.Prosody(os.path.join(work, "prosody"))
    robot = p.register("robot", "robot-pw")
    p.register("buckaroo", "buckaroo-pw")
    p.start()
    b = harness.Buddy(f"buckaroo@{DOMAIN}", "buckaroo-pw", p.port, p.ca_pem)
    d = harness.Daemon(os.path.join(work, "d"),
                       peer_conf("aim1", robot, "robot-pw", p, subscribe=["buckaroo"]))
    d.start(debug=0)
    a = None
    try:
        d.wait_status("aim1/buckaroo", subscription="both")
        b.presence(status="here")
        a = real_asterisk.Asterisk(os.path.join(work, "ast"), binary, extensions=DIALPLAN,
                                   extra_modules=[MODULE],
                                   etc_files={"imstatus.conf": f"[general]\ncontrolsocket = {d.socket}\ndaemonuser = root\n"})
        out = os.path.join(a.dir, "asterisk.out")
        a.log = open(out, "wb")
        a.proc = subprocess.Popen(["valgrind", "--log-fd=2", "--num-callers=30", "--leak-check=full",
                                   "--show-leak-kinds=definite", binary, "-f", "-vvvv", "-C", a.conf],
                                  stdout=a.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: harness.port_open(a.ami_port), 300, what="Asterisk under valgrind")
        wait_for(lambda: "fully booted" in a.rx("core waitfullybooted").lower(), 300, what="boot")
        wait_for(lambda: "aim1" in a.rx("im show peers"), 60, what="the module")
        for _ in range(3):
            a.rx("channel originate Local/s@t application Wait 1")
        wait_for(lambda: a.output().count("DONE|") >= 3, 120, what="the calls")
        assert "Unloaded" in a.rx("module unload app_imstatus.so")
        a.rx("module load app_imstatus.so")
        wait_for(lambda: "aim1" in a.rx("im show peers"), 60, what="the module again")
        d.stop()
        d.start(debug=0)
        wait_for(lambda: "aim1" in a.rx("im show peers"), 60, what="the module reconnected")
        assert "Unloaded" in a.rx("module unload app_imstatus.so")
        a.rx("core stop now")
        a.proc.wait(300)
        with open(out, errors="replace") as f:
            log = f.read()
        bad = re.findall(r"== (Invalid (?:read|write|free)[^\n]*|[^\n]*uninitialised[^\n]*)", log)
        lost = re.search(r"definitely lost: ([\d,]+) bytes", log)
        print(f"valgrind: {len(bad)} invalid accesses; definitely lost: "
              f"{lost.group(1) if lost else '?'} bytes")
        return 1 if bad or (lost and lost.group(1) != "0") else 0
    finally:
        if a and a.proc and a.proc.poll() is None:
            a.proc.kill()
        d.stop()
        b.close()
        p.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
