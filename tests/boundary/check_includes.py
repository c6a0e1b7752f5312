#!/usr/bin/env python3
"""Each public header, compiled on its own, includes no private dependency.

Usage: check_includes.py INCLUDE_DIR... -- COMPILER... -- HEADER...

Runs the compiler's preprocessor (-M: the list of every file a compilation
reads) on each header alone, with only the public include folders, and fails
when the list names a header of SQLite, SQLiteCpp, GSL, OpenSSL, hiredis or
xxHash. public_api_test checks those libraries' macros at compile time; this
also catches the headers that define none (SQLiteCpp's Exception.h,
Transaction.h, Savepoint.h; OpenSSL's macro-only tables), and proves that
every header compiles by itself.
"""
import re
import subprocess
import sys

args = sys.argv[1:]
first = args.index("--")
second = args.index("--", first + 1)
include_dirs, compiler, headers = args[:first], args[first + 1:second], args[second + 1:]

PRIVATE = re.compile(r"(^|/)(sqlite3\.h|sqlite3ext\.h|SQLiteCpp/|gsl/|openssl/|hiredis/|"
                     r"xxhash\.h|xxh3\.h|xxh_x86dispatch\.h)")

failed = False
for header in headers:
    command = compiler + ["-std=c++20", "-x", "c++", "-M", header]
    command += [f"-I{d}" for d in include_dirs]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        print(f"{header} does not compile on its own:\n{run.stderr}")
        failed = True
        continue
    files = run.stdout.replace("\\\n", " ").split(":", 1)[1].split()
    leaks = [f for f in files if PRIVATE.search(f)]
    if leaks:
        print(f"{header} includes private headers:")
        for leak in leaks:
            print("  " + leak)
        failed = True
    else:
        print(f"{header}: {len(files)} files read, none private")
sys.exit(1 if failed else 0)
