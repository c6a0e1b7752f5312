#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# over a scratch copy of its committed corpus. Usage: run.sh BUILD_DIR SECONDS
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1
seconds=$2
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found, skipped"
  exit 0
fi
[ -f "$build/build.ninja" ] ||
  CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=false -Dtools=false -Dbench=false >/dev/null
meson compile -C "$build" names_fuzz metadata_fuzz
for target in names metadata; do
  scratch=$(mktemp -d)
  cp tests/fuzz/corpus/$target/* "$scratch"/
  echo "fuzz: $target for ${seconds}s"
  "$build/tests/fuzz/libfuzzer/${target}_fuzz" "$scratch" -max_total_time="$seconds" \
    -max_len=2048 -print_final_stats=1 2>&1 | tail -n 12
  rm -rf "$scratch"
done
