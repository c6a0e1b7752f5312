#!/usr/bin/env bash
# The main job: installs what is missing, builds the blobcache tool, and uses
# it on the default cache file (~/.cache/blobcache/blobcache.db, or
# $BLOBCACHE_DB): caches this README with a one-week TTL, then shows the
# cache's namespaces, the entry, the file's details, and a deep check.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BLOBCACHE_BUILD:-build-run}
bash scripts/deps.sh
[ -f "$build/build.ninja" ] || meson setup "$build" -Dtests=false -Dbench=false
meson compile -C "$build" blobcache:executable  # the library is also named blobcache
tool=("$build/tools/blobcache")
set -x
"${tool[@]}" put docs README.md README.md --content-type text/markdown --ttl 7d
"${tool[@]}" ls
"${tool[@]}" ls docs
"${tool[@]}" info
"${tool[@]}" check --deep
