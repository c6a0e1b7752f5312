#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR, then builds and runs
# contract_test.cpp as an outside backend would: flags from
# `pkg-config blobcache-testing` only, nothing from the build tree. Exits
# 77 (meson's "skipped") in a sanitized build.
# Usage: run.sh BUILD_ROOT PREFIX SCRATCH_DIR SANITIZE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build_root=$1 prefix=$2 scratch=$3 sanitize=$4
source "$here/../install_scratch.sh"
install_scratch "$build_root" "$scratch" "$sanitize"
# The .pc files name $prefix; the sysroot puts their paths under DESTDIR.
export PKG_CONFIG_SYSROOT_DIR=$scratch/dest
export PKG_CONFIG_PATH=$(find "$scratch/dest$prefix" -type d -name pkgconfig | paste -sd:)
libdir=$(dirname "$(find "$scratch/dest" -name 'libblobcache.so.*' -type f)")
read -ra flags <<<"$(pkg-config --cflags --libs blobcache-testing)"
read -ra cxx <<<"${CXX:-c++}"
echo "pkg-config blobcache-testing: ${flags[*]}"
"${cxx[@]}" -std=c++20 -Wall -Werror "$here/contract_test.cpp" -o "$scratch/contract_test" \
  "${flags[@]}" "-Wl,-rpath,$libdir"
ldd "$scratch/contract_test" | grep libblobcache
"$scratch/contract_test"
