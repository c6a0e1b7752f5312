// Lowercase hex SHA-256 through OpenSSL, independent of the library's own,
// for the robustness test and its worker.
#pragma once

#include <openssl/evp.h>
#include <stdexcept>
#include <string>

#include "blobcache/types.hpp"

namespace blobcache::test {

inline std::string sha256_hex(BytesView bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xF];
  }
  return hex;
}

}  // namespace blobcache::test
