// Values that say what they are. The robustness workers store only these,
// so that whoever reads one can tell that it is whole and that some worker
// wrote it for the very (namespace, key) it was read from: a chunk of
// another entry, a value published under the wrong key, or a replace that
// left an older value's tail behind cannot pass.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "blobcache/types.hpp"

namespace blobcache::test {

namespace value_detail {

constexpr std::string_view kMagic = "bcv1";

// FNV-1a: the body's seed, from the header (the same in every process).
inline std::uint64_t fnv1a(std::string_view text) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return hash;
}

// splitmix64: cheap, and good enough to make every body differ.
inline std::uint64_t next(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// `size` bytes of the body that follows `header`, from offset 0.
inline void fill_body(std::string_view header, std::byte* out, std::size_t size) noexcept {
  std::uint64_t state = fnv1a(header);
  for (std::size_t at = 0; at < size; at += 8) {
    const std::uint64_t word = next(state);
    std::memcpy(out + at, &word, std::min<std::size_t>(8, size - at));
  }
}

}  // namespace value_detail

// "bcv1 <ns> <key> <writer> <serial>\n" followed by `body` bytes that the
// header determines. Distinct (writer, serial) pairs make distinct values.
inline Bytes made_value(std::string_view ns, std::string_view key, std::uint64_t writer,
                        std::uint64_t serial, std::size_t body) {
  const std::string header = std::string(value_detail::kMagic) + " " + std::string(ns) + " " +
                             std::string(key) + " " + std::to_string(writer) + " " +
                             std::to_string(serial) + "\n";
  Bytes value(header.size() + body);
  std::memcpy(value.data(), header.data(), header.size());
  value_detail::fill_body(header, value.data() + header.size(), body);
  return value;
}

// "" when `data` is a value made_value() made for (ns, key), or empty (the
// one value every worker may write under any key); else what is wrong.
inline std::string value_problem(std::string_view ns, std::string_view key, BytesView data) {
  if (data.empty()) return {};
  const std::string_view text = as_text(data);
  const std::size_t end = text.find('\n');
  if (end == std::string_view::npos || end > 4096) return "no header";
  const std::string_view header = text.substr(0, end + 1);
  const std::string prefix =
      std::string(value_detail::kMagic) + " " + std::string(ns) + " " + std::string(key) + " ";
  if (header.substr(0, prefix.size()) != prefix) {
    return "written for another key: " + std::string(header.substr(0, end));
  }
  Bytes body(data.size() - header.size());
  value_detail::fill_body(header, body.data(), body.size());
  if (!body.empty() && std::memcmp(body.data(), data.data() + header.size(), body.size()) != 0) {
    return "its bytes are not the ones its header names: " + std::string(header.substr(0, end));
  }
  return {};
}

}  // namespace blobcache::test
