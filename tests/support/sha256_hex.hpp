// Lowercase hex SHA-256 through OpenSSL's one-shot API, independent of the
// library's own hashing: what tests compare etags with.
#pragma once

#include <array>
#include <openssl/evp.h>
#include <string>

#include "blobcache/types.hpp"

namespace blobcache::test {

// Called from worker threads and processes too, so it uses no Catch2
// assertion (they are not thread-safe): a failure yields "", which matches
// no etag.
inline std::string sha256_hex(BytesView bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1)
    return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest.at(i) >> 4];
    hex += kHex[digest.at(i) & 0xF];
  }
  return hex;
}

}  // namespace blobcache::test
