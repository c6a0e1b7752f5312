#!/usr/bin/env bash
# Configures, builds and tests the consumer project with blobcache as its
# subproject and the library's tests off, then proves Catch2 was never looked
# up. Usage: run.sh CONSUMER_SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
meson=${MESON:-meson}
rm -rf "$build"
# Unoptimized, without debug info: what this proves does not depend on them,
# and the whole test takes 70 s so instead of 83 s.
"$meson" setup "$build" "$src" -Dblobcache:tests=false --wrap-mode=nodownload \
  -Doptimization=0 -Ddebug=false
"$meson" compile -C "$build"
"$meson" test -C "$build" --print-errorlogs
if grep -qi 'catch2' "$build/meson-logs/meson-log.txt"; then
  echo "FAIL: the consumer's configure looked Catch2 up although blobcache's tests were off" >&2
  exit 1
fi
echo "consumer built and ran with blobcache as a subproject; Catch2 never looked up"
