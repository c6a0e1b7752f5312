#!/usr/bin/env python3
"""The shared library exports the public API and nothing else.

Usage: check_exports.py LIBRARY SONAME PUBLIC_HEADER...

Reads `nm -D --defined-only --demangle LIBRARY` and fails, listing the
offenders, unless every exported symbol is one of:

  * a function or static data member of namespace blobcache whose first name
    after `blobcache::` is declared BLOBCACHE_EXPORT in a public header (a
    class, a struct or a free function), or an operator of that namespace
    (the friend operator== of the value types): `blobcache::Cache::get(...)`,
    `blobcache::Meta::~Meta()`, `blobcache::make_error_code(...)`;
  * the typeinfo, typeinfo name or vtable of such a class, which programs
    need to catch blobcache::Error and to derive from Store, BlobReader and
    Clock.

So it rejects blobcache::detail:: (src/), a private member class of an
exported class (`blobcache::SqliteStore::Impl::...`: one name more than a
member function has), symbols of the libraries linked in (SQLite, SQLiteCpp,
GSL, xxHash, OpenSSL, hiredis) and standard-library template instances (every program
has its own copies), and any exported symbol whose signature names one of
the private libraries' types. It also checks the soname (the ABI version),
and that the list is not empty, so a library that exports nothing fails too.
"""
import re
import subprocess
import sys

library, soname, headers = sys.argv[1], sys.argv[2], sys.argv[3:]

public = set()
for header in headers:
    with open(header, encoding="utf-8") as f:
        text = f.read()
    # `class BLOBCACHE_EXPORT Cache`, `struct BLOBCACHE_EXPORT Meta`, and
    # `BLOBCACHE_EXPORT <return type> name(`.
    public.update(re.findall(r"\b(?:class|struct) BLOBCACHE_EXPORT (\w+)", text))
    public.update(re.findall(r"^BLOBCACHE_EXPORT [^(;]*?(\w+)\(", text, re.M))
if not public:
    sys.exit("no BLOBCACHE_EXPORT declaration found in " + " ".join(headers))

# Types of the private dependencies, anywhere in a symbol (also inside the
# signature of an otherwise public name).
PRIVATE = re.compile(r"blobcache::detail::|SQLite::|sqlite3|gsl::|XXH|EVP_|SHA256|openssl|redisContext|redisReply|hiredis", re.I)
SPECIAL = ("typeinfo for ", "typeinfo name for ", "vtable for ")


def qualified_name(symbol):
    """The symbol's name without its parameters and ABI tags."""
    name = re.sub(r"\[abi:\w+\]", "", symbol)
    depth = 0
    for i, c in enumerate(name):
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == "(" and depth == 0 and not name[:i].endswith("operator"):
            return name[:i]
    return name


def accepted(symbol):
    if PRIVATE.search(symbol):
        return False
    for prefix in SPECIAL:
        if symbol.startswith(prefix):
            parts = symbol[len(prefix):].split("::")
            return len(parts) == 2 and parts[0] == "blobcache" and parts[1] in public
    parts = qualified_name(symbol).split("::")
    if parts[0] != "blobcache" or len(parts) < 2:
        return False
    if parts[1].startswith("operator") and len(parts) == 2:
        return True
    # blobcache::free_function, blobcache::Class::member: no deeper name.
    return parts[1] in public and len(parts) <= 3


nm = subprocess.run(["nm", "-D", "--defined-only", "--demangle", library],
                    check=True, capture_output=True, text=True).stdout
symbols = sorted({line.split(" ", 2)[2] for line in nm.splitlines() if line.count(" ") >= 2})
rejected = [s for s in symbols if not accepted(s)]

readelf = subprocess.run(["readelf", "-d", library], check=True, capture_output=True,
                         text=True).stdout
found_soname = re.search(r"\(SONAME\)\s+Library soname: \[(.*)\]", readelf)
failed = False
if not found_soname or found_soname.group(1) != soname:
    print(f"soname is {found_soname.group(1) if found_soname else 'missing'}, expected {soname}")
    failed = True
if not symbols:
    print("the library exports nothing")
    failed = True
if rejected:
    print(f"{len(rejected)} of {len(symbols)} exported symbols are not public API:")
    for s in rejected:
        print("  " + s)
    failed = True
if failed:
    sys.exit(1)
print(f"{library}: soname {soname}; {len(symbols)} exported symbols, all public API "
      f"({len(public)} exported names in the headers)")
