// Values, readers and streams shared by the Redis and tier tests.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <sstream>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

#include "blobcache/store.hpp"

#include "bytes.hpp"  // pattern()
#include "redis_server.hpp"
#include "sha256_hex.hpp"

namespace blobcache::test {

inline std::string sha256_of(BytesView bytes) { return sha256_hex(bytes); }

inline Bytes read_all(BlobReader& reader) {
  Bytes out;
  Bytes buffer(100'000);
  while (const std::size_t n = reader.read(buffer)) {
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

// The keys of the server matching `pattern` (KEYS: a test may, the store never does).
inline std::vector<std::string> keys_matching(const RedisServer& server,
                                              const std::string& pattern) {
  const std::string joined = server.command({"KEYS", pattern});
  std::vector<std::string> keys;
  std::istringstream lines(joined);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) keys.push_back(line);
  }
  return keys;
}

// Yields the bytes of pattern(size, seed) without holding them, and runs
// `at_half` once half of them were read.
class PatternBuffer final : public std::streambuf {
 public:
  PatternBuffer(std::size_t size, std::uint32_t seed, std::function<void()> at_half = {})
      : size_(size), state_(seed * 2654435761U + 1U), at_half_(std::move(at_half)) {}

 protected:
  int_type underflow() override {
    if (served_ >= size_) return traits_type::eof();
    if (at_half_ && served_ >= size_ / 2) std::exchange(at_half_, {})();
    const std::size_t n = std::min(chunk_.size(), size_ - served_);
    for (std::size_t i = 0; i < n; ++i) {
      state_ = state_ * 1664525U + 1013904223U;
      chunk_.at(i) = static_cast<char>(state_ >> 24);
    }
    served_ += n;
    setg(chunk_.data(), chunk_.data(), chunk_.data() + n);
    return traits_type::to_int_type(chunk_[0]);
  }

 private:
  std::size_t size_;
  std::uint32_t state_;
  std::function<void()> at_half_;
  std::array<char, 64 * 1024> chunk_{};
  std::size_t served_ = 0;
};

}  // namespace blobcache::test
