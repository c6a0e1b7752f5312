#!/usr/bin/env bash
# Installs the Debian 12 packages blobcache needs, only those missing.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

# libhiredis-dev builds RedisStore; redis-server runs its tests (tests/redis).
packages=(meson ninja-build pkg-config cmake g++ libsqlite3-dev libsqlitecpp-dev
          libmsgsl-dev catch2 libssl-dev libxxhash-dev nlohmann-json3-dev libcli11-dev
          libhiredis-dev redis-server "$@")

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "blobcache: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
