#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# over a scratch copy of its committed corpus. Usage: run.sh BUILD_DIR SECONDS
# Each target's outcome goes to BUILD_DIR/meson-logs/testlog.json in meson's
# format (name, result), so .ci/summarize_tests.py counts it; a crash input
# is kept in BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1
seconds=$2
log=$build/meson-logs/testlog.json
record() { mkdir -p "$(dirname "$log")"; printf '{"name": "fuzz_%s", "result": "%s"}\n' "$1" "$2" >>"$log"; }
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found, skipped"
  rm -f "$log"; record names SKIP; record metadata SKIP
  exit 0
fi
[ -f "$build/build.ninja" ] ||
  CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=false -Dtools=false -Dbench=false >/dev/null
meson compile -C "$build" names_fuzz metadata_fuzz
rm -f "$log"
# Both targets at once, one core each (libFuzzer runs one process).
fuzz() {
  local target=$1 scratch
  scratch=$(mktemp -d)
  cp tests/fuzz/corpus/"$target"/* "$scratch"/
  "$build/tests/fuzz/libfuzzer/${target}_fuzz" "$scratch" -max_total_time="$seconds" \
    -max_len=2048 -print_final_stats=1 -artifact_prefix="$build/${target}-" >"$scratch.log" 2>&1
  local status=$?
  echo "fuzz: $target for ${seconds}s"
  [ "$status" -eq 0 ] || grep -E "ERROR|SUMMARY|Test unit written" "$scratch.log" || true
  tail -n 12 "$scratch.log"
  rm -rf "$scratch" "$scratch.log"
  return "$status"
}
declare -A pids
for target in names metadata; do
  fuzz "$target" &
  pids[$target]=$!
done
status=0
for target in names metadata; do
  if wait "${pids[$target]}"; then
    record "$target" OK
  else
    record "$target" FAIL
    status=1
  fi
done
exit $status
