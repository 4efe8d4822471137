#!/usr/bin/python3
"""The first things a newcomer reads name what the code serves: every network
of the registry (gen-man --networks) and the module are in README's opening
and in the Debian package's description, and every guide README links to
exists.  check-docs.py GEN_MAN SOURCE_DIR"""
import os
import re
import subprocess
import sys

gen_man, src = sys.argv[1], sys.argv[2]
names = subprocess.run([gen_man, "--networks"], capture_output=True, text=True,
                       check=True).stdout.split()
readme = open(os.path.join(src, "README.md")).read()
opening = readme[:readme.index("\n## ")]
control = open(os.path.join(src, "debian", "control")).read()
description = control[control.index("Description:"):]
bad = []
for name in names:
    if name not in opening:
        bad.append(f"README.md: the opening does not name the {name} network")
    if name not in description:
        bad.append(f"debian/control: the description does not name the {name} network")
if "app_imstatus.so" not in opening or "app_imstatus.so" not in description:
    bad.append("README.md / debian/control: the module app_imstatus.so is not named")
for link in re.findall(r"\]\((doc/[^)#]+)", readme):
    if not os.path.exists(os.path.join(src, link)):
        bad.append(f"README.md links to {link}, which does not exist")
for b in bad:
    print(b)
print(f"{len(names)} networks checked: {'ok' if not bad else 'FAILED'}")
sys.exit(1 if bad else 0)
