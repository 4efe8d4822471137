#!/usr/bin/python3
"""The layers check passes on src/ and fails on each planted violation
(TAP: one line per case)."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "src")
CHECK = os.path.join(HERE, "check_layers.py")

# (description, file under src/, text appended, what the report must name)
PLANTS = [
    ("a driver includes a front end", "oscar/ims-oscar.c", '#include "ims-http.h"\n',
     "oscar (layer 6) may not use http (layer 8)"),
    ("a driver includes the core's interface", "ymsg/ims-ymsg.c", '#include "ims-core.h"\n',
     "never ymsg -> ims-core.h"),
    ("a front end includes the core", "http/ims-http.c", '#include "ims-core.h"\n',
     "never http -> ims-core.h"),
    ("config includes the store (same layer)", "config/ims-config.c",
     '#include "ims-presence-store.h"\n', "config (layer 2) may not use store (layer 2)"),
    ("the module includes GLib code", "asterisk/app_imstatus.c", '#include "ims-text.h"\n',
     "module asterisk uses only ['vocab']"),
    ("a meson dependency upward", "store/meson.build", "x = [ims_core_dep]\n",
     "store (layer 2) may not use core (layer 4)"),
]


def run(src):
    return subprocess.run([sys.executable, CHECK, src], capture_output=True, text=True)


def main():
    cases = 1 + len(PLANTS)
    print(f"1..{cases}")
    ok = True
    r = run(SRC)
    good = r.returncode == 0
    print(f"{'ok' if good else 'not ok'} 1 - src/ keeps its layers")
    if not good:
        print("# " + r.stdout.replace("\n", "\n# "))
    ok &= good
    for i, (what, path, text, expect) in enumerate(PLANTS, 2):
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "src")
            shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("*.png"))
            with open(os.path.join(copy, path), "a") as f:
                f.write(text)
            r = run(copy)
            caught = r.returncode == 1 and expect in r.stdout and path in r.stdout
            print(f"{'ok' if caught else 'not ok'} {i} - planted: {what}")
            if not caught:
                print("# " + r.stdout.replace("\n", "\n# "))
            ok &= caught
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
