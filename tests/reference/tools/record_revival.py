#!/usr/bin/python3
"""Records the revival-server transcripts in tests/reference/revival/.

Runs the scenario of a network's test module (tests/integration/<net>.py)
against a real revival server on 127.0.0.1 and writes what the server
answered, step by step, as JSON.  The accounts must be fresh (empty lists),
made with the revival kit's adduser.sh, e.g. for AIM:

    adduser.sh DEST aim rec1a pw1; adduser.sh DEST aim rec1b pw2
    tests/reference/tools/record_revival.py oscar 5190 rec1a:pw1 rec1b:pw2

tests/integration/test_revival_peers.py replays each transcript's steps
against the faithful fake and compares.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))


def main():
    net, port, a, b = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    mod = __import__(net)
    # port: the server port, or for msnp "HTTP-port:NS-port"
    first = ("127.0.0.1",) if ":" not in port else (int(port.split(":")[0]),)
    steps = mod.scenario(*first, int(port.split(":")[-1]), tuple(a.rsplit(":", 1)),
                         tuple(b.rsplit(":", 1)))
    out = os.path.join(HERE, "..", "revival", f"{net}-scenario.json")
    with open(out, "w") as f:
        json.dump({"server": sys.argv[5] if len(sys.argv) > 5 else "", "steps": steps}, f, indent=1)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
