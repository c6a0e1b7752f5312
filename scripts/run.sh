#!/usr/bin/env bash
# The main job: installs what is missing, builds the blobcache tool, and uses
# it on the default cache file (~/.cache/blobcache/blobcache.db, or
# $BLOBCACHE_DB): bounds the cache to 500 MiB, caches this README with a
# one-week TTL and reads it back, then shows the cache's namespaces, the
# entry, the file's details, a deep check, and the cache's statistics.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BLOBCACHE_BUILD:-build-run}
bash scripts/deps.sh
[ -f "$build/build.ninja" ] || meson setup "$build" -Dtests=false -Dbench=false
meson compile -C "$build" blobcache:executable  # the library is also named blobcache
tool=("$build/tools/blobcache")
set -x
"${tool[@]}" limit --max-bytes 500M
"${tool[@]}" put docs README.md README.md --content-type text/markdown --ttl 7d
"${tool[@]}" get docs README.md -o /dev/null
"${tool[@]}" ls
"${tool[@]}" ls docs
"${tool[@]}" info
"${tool[@]}" check --deep
"${tool[@]}" stats
