#!/usr/bin/python3
"""Holds src/'s #includes and meson dependencies to src/LAYERS.

check_layers.py SRC_DIR: prints every violation as "file:line: why" and
exits 1 when there is one, 0 (with a summary) when there is none.
"""
import os
import re
import sys


def parse_layers(path):
    layer, module, never = {}, {}, []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.fullmatch(r"layer (\d+):\s*(.+)", line)
            if m:
                for folder in m.group(2).split():
                    layer[folder] = int(m.group(1))
                continue
            m = re.fullmatch(r"module (\S+):\s*(.*)", line)
            if m:
                module[m.group(1)] = set(m.group(2).split())
                continue
            m = re.fullmatch(r"never (.+?) -> (.+)", line)
            if m:
                never.append((set(m.group(1).split()), set(m.group(2).split()), n))
                continue
            raise SystemExit(f"{path}:{n}: cannot read '{line}'")
    return layer, module, never


def headers_of(src):
    """header file name -> folder that holds it."""
    owner = {}
    for folder in sorted(os.listdir(src)):
        d = os.path.join(src, folder)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if f.endswith(".h"):
                    owner[f] = folder
    return owner


def deps_of(src):
    """ims_*_dep variable -> folder whose meson.build declares it."""
    owner = {}
    for folder in sorted(os.listdir(src)):
        mb = os.path.join(src, folder, "meson.build")
        if os.path.isfile(mb):
            for m in re.finditer(r"^(ims_\w+_dep)\s*=\s*declare_dependency", open(mb).read(), re.M):
                owner[m.group(1)] = folder
    return owner


def allowed(layers, module, never, frm, to, what):
    """None when frm may use to (a folder; what: the header or dep), else why."""
    if frm == to:
        return None
    for froms, tos, n in never:
        if frm in froms and (to in tos or what in tos):
            return f"never {frm} -> {what} (LAYERS:{n})"
    if frm in module:
        return None if to in module[frm] else f"module {frm} uses only {sorted(module[frm])}"
    if frm not in layers:
        return f"{frm} has no layer in LAYERS"
    if to in module:
        return f"{to} is a module, not a library"
    if to not in layers:
        return f"{to} has no layer in LAYERS"
    if layers[to] >= layers[frm]:
        return f"{frm} (layer {layers[frm]}) may not use {to} (layer {layers[to]})"
    return None


def check(src):
    layers, module, never = parse_layers(os.path.join(src, "LAYERS"))
    headers, deps = headers_of(src), deps_of(src)
    bad, seen = [], 0
    for folder in sorted(os.listdir(src)):
        d = os.path.join(src, folder)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            path = os.path.join(d, f)
            if f.endswith((".c", ".h")):
                for n, line in enumerate(open(path, errors="replace"), 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not m or m.group(1) not in headers:
                        continue
                    seen += 1
                    why = allowed(layers, module, never, folder, headers[m.group(1)], m.group(1))
                    if why:
                        bad.append(f"{path}:{n}: #include \"{m.group(1)}\": {why}")
            elif f == "meson.build":
                for n, line in enumerate(open(path), 1):
                    for dep in re.findall(r"\b(ims_\w+_dep)\b", line):
                        if dep not in deps or re.match(rf"\s*{dep}\s*=", line):
                            continue
                        seen += 1
                        why = allowed(layers, module, never, folder, deps[dep], dep)
                        if why:
                            bad.append(f"{path}:{n}: {dep}: {why}")
    return bad, seen


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "src")
    bad, seen = check(src)
    for b in bad:
        print(b)
    if bad:
        print(f"{len(bad)} layer violation(s) (src/LAYERS)")
        return 1
    print(f"layers OK: {seen} includes and dependencies checked against src/LAYERS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
