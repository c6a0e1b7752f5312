#!/usr/bin/env bash
# Installs what is missing, builds blobcache with warnings as errors, and runs
# the whole test suite. Usage: scripts/test.sh [BUILD_DIR [meson options...]]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
bash scripts/deps.sh
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" -Dwerror=true "$@" >/dev/null
else
  meson setup "$build" -Dwerror=true "$@"
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
