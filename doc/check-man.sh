#!/bin/sh
# A man page renders without a single warning from man/groff.
set -eu
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)
if [ -n "$warnings" ]; then
  echo "$1: $warnings" >&2
  exit 1
fi
echo "ok: $1"
