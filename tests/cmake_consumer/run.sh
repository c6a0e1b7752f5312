#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR, then configures, builds and runs
# the CMake project beside this script, which finds blobcache with
# find_package() and links blobcache::blobcache. Exits 77 (meson's "skipped")
# when cmake is absent or the build is sanitized.
# Usage: run.sh BUILD_ROOT PREFIX VERSION SCRATCH_DIR SANITIZE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build_root=$1 prefix=$2 version=$3 scratch=$4 sanitize=$5
if ! command -v cmake >/dev/null; then
  echo "SKIP: cmake not found, the CMake package is not tested"
  exit 77
fi
source "$here/../install_scratch.sh"
install_scratch "$build_root" "$scratch" "$sanitize"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$here" -B "$scratch/build" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$scratch/dest$prefix" -DBLOBCACHE_EXPECTED_VERSION="$version"
cmake --build "$scratch/build"
ldd "$scratch/build/consumer" | grep libblobcache
"$scratch/build/consumer"
echo "CMake consumer built with find_package(blobcache $version) and ran"
