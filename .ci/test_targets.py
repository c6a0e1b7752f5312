#!/usr/bin/env python3
"""Prints the ninja targets that the named tests of a Meson build run (their
programs and every target they depend on, such as the tool an end-to-end
test starts), one per line, relative to the build folder, so that CI compiles
only what it runs. Fails on a name that is not one of the build's tests.

Usage: .ci/test_targets.py BUILD_DIR TEST_NAME...
"""
import json
import os
import subprocess
import sys


def introspect(build, what):
    out = subprocess.run(["meson", "introspect", build, what],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    build, names = sys.argv[1], sys.argv[2:]
    tests = {t["name"]: t for t in introspect(build, "--tests")}
    files = {t["id"]: t["filename"] for t in introspect(build, "--targets")}
    unknown = [n for n in names if n not in tests]
    if unknown:
        sys.exit(f"test_targets: no such test in {build}: {', '.join(unknown)}")
    top = os.path.realpath(build)
    targets = sorted({os.path.relpath(f, top)
                      for name in names
                      for target in tests[name]["depends"]
                      for f in files[target]})
    print("\n".join(targets))


if __name__ == "__main__":
    main()
