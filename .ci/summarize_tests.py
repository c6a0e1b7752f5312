#!/usr/bin/env python3
"""Sums meson's testlog.json over build folders; prints 'N passed, N failed'
last and exits 1 when anything failed or a build left no log."""
import json
import pathlib
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}

passed = failed = skipped = 0
for build in sys.argv[1:]:
    log = pathlib.Path(build) / "meson-logs" / "testlog.json"
    if not log.is_file():
        print(f"{build}: no testlog.json (the build failed before testing)")
        failed += 1
        continue
    for line in log.read_text().splitlines():
        if not line.strip():
            continue
        result = json.loads(line)
        outcome = result.get("result")
        if outcome in PASSED:
            passed += 1
        elif outcome in SKIPPED:
            skipped += 1
        else:
            failed += 1
            print(f"{build}: FAILED {result.get('name')} ({outcome})")
suffix = f", {skipped} skipped" if skipped else ""
print(f"{passed} passed, {failed} failed{suffix}")
sys.exit(1 if failed else 0)
