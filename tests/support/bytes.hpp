// Deterministic test values.
#pragma once

#include <cstddef>
#include <cstdint>

#include "blobcache/types.hpp"

namespace blobcache::test {

// `size` bytes that differ by `seed` and do not repeat with a short period
// (so a torn or shifted copy shows). The same generator wrote the files in
// tests/sqlite/data/ (make_fixture.cpp): never change it.
inline Bytes pattern(std::size_t size, std::uint32_t seed) {
  Bytes bytes(size);
  std::uint32_t state = seed * 2654435761U + 1U;
  for (auto& b : bytes) {
    state = state * 1664525U + 1013904223U;
    b = static_cast<std::byte>(state >> 24);
  }
  return bytes;
}

}  // namespace blobcache::test
