#!/usr/bin/env bash
# Installs what is missing, builds blobcache with warnings as errors, and runs
# the whole test suite. Usage: scripts/test.sh [BUILD_DIR [meson options...]]
# Debug info is line tables only (-g1: file and line in every backtrace and
# sanitizer report, no variables): full -g made the library's -O2 compile
# half as long again (src/sqlite/writer.cpp: 13.8 s against 9.0 s). Options
# given after BUILD_DIR come later and win (-Dcpp_args= for full -g).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
bash scripts/deps.sh
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" -Dwerror=true -Dcpp_args=-g1 "$@" >/dev/null
else
  meson setup "$build" -Dwerror=true -Dcpp_args=-g1 "$@"
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
