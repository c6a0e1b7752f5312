#!/usr/bin/env bash
# The style checks of CI, each recorded as one test in
# LOG_BUILD/meson-logs/testlog.json (meson's format), so that
# .ci/summarize_tests.py counts it:
#   clang_format: every tracked C++ file outside subprojects/ is formatted as
#     .clang-format says (clang-format --dry-run --Werror);
#   clang_tidy: the checks .clang-tidy enables find nothing in the library
#     (the files of src/ in DB_BUILD's compile database). The tool, the
#     benchmarks and the tests are left out to keep CI within its time (the
#     tool and the benchmarks add 11 files at 8-11 s each; tidying the tests
#     costs more than the rest together); they build with -Werror -Wall
#     -Wextra like everything else, and BLOBCACHE_TIDY_ALL=1 adds tools/ and
#     bench/. The static analyzer (clang-analyzer-*) runs in its shallow
#     mode (-analyzer-config mode=shallow: less inlining across calls, as
#     Xcode's quick analysis): the deep mode took two thirds of the time (23 s
#     of 32 s for src/sqlite/writer.cpp; the analyzer alone on src/store.cpp
#     14.4 s against 4.9 s). BLOBCACHE_ANALYZER_MODE=deep runs the deep mode.
#     clang-tidy 14 may abort (a glibc heap check) right after printing an
#     analyzer finding with its notes: the finding above the abort is the
#     cause.
# A check whose tool is missing is recorded as skipped. Prints each check's
# time. Usage: .ci/style.sh LOG_BUILD DB_BUILD
set -uo pipefail
cd "$(dirname "$0")/.."
log_build=$1
db_build=$2
log=$log_build/meson-logs/testlog.json
mkdir -p "$(dirname "$log")"
rm -f "$log"
record() { printf '{"name": "%s", "result": "%s"}\n' "$1" "$2" >>"$log"; }
status=0

if command -v clang-format >/dev/null; then
  start=$SECONDS
  if git ls-files -z -- '*.cpp' '*.hpp' '*.h' '*.cc' ':!:subprojects/**' |
      xargs -0 clang-format --dry-run --Werror; then
    record clang_format OK
  else
    record clang_format FAIL
    status=1
    echo "clang_format: run clang-format -i on the files above"
  fi
  echo "clang_format: $((SECONDS - start)) s"
else
  echo "clang_format: clang-format not found, skipped"
  record clang_format SKIP
fi

if command -v clang-tidy >/dev/null && [ -f "$db_build/compile_commands.json" ]; then
  start=$SECONDS
  # One clang-tidy per file, two at a time; xargs fails when any of them
  # does. Its counts of suppressed warnings (outside HeaderFilterRegex) are
  # dropped from the log. Usage: tidy TOP_FOLDER... [-- EXTRA_ARGUMENTS...]
  tidy() {
    local folders=() extra=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do folders+=("$1"); shift; done
    [ $# -gt 0 ] && shift && extra=("$@")
    python3 -c '
import json, os, sys
files = {os.path.normpath(os.path.join(entry["directory"], entry["file"]))
         for entry in json.load(open(sys.argv[1]))}
top = os.getcwd()
kept = [f for f in files if os.path.relpath(f, top).split(os.sep)[0] in sys.argv[2:]]
print("\0".join(sorted(kept)), end="")
' "$db_build/compile_commands.json" "${folders[@]}" |
        xargs -0 -n 1 -P 2 clang-tidy -p "$db_build" --quiet --use-color=false "${extra[@]}" 2>&1 |
      grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter'
    return "${PIPESTATUS[1]}"
  }
  tidy_status=0
  mode=${BLOBCACHE_ANALYZER_MODE:-shallow}
  tidy src -- --extra-arg=-Xclang --extra-arg=-analyzer-config \
    --extra-arg=-Xclang "--extra-arg=mode=$mode" || tidy_status=1
  if [ -n "${BLOBCACHE_TIDY_ALL:-}" ]; then
    tidy tools bench -- '--checks=-clang-analyzer-*' || tidy_status=1
  fi
  if [ "$tidy_status" -eq 0 ]; then
    record clang_tidy OK
  else
    record clang_tidy FAIL
    status=1
  fi
  echo "clang_tidy: $((SECONDS - start)) s"
else
  echo "clang_tidy: clang-tidy or $db_build/compile_commands.json not found, skipped"
  record clang_tidy SKIP
fi
exit $status
