#!/bin/sh
# systemd-analyze accepts the unit, with ExecStart pointing at this build.
set -eu
unit=$1 daemon=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|^\(Exec[A-Za-z]*=\)[^ ]*/imstatusd|\1$daemon|" "$unit" > "$dir/imstatusd.service"
out=$(systemd-analyze verify --man=no "$dir/imstatusd.service" 2>&1) || { echo "$out" >&2; exit 1; }
# Warnings are failures too, except a missing user on a build machine.
rest=$(printf '%s\n' "$out" | grep -v -e '^$' -e "imstatus" || true)
if [ -n "$rest" ]; then echo "$rest" >&2; exit 1; fi
echo "ok: $unit${out:+ ($out)}"
