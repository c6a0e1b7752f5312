// Internal: streaming SHA-256 through OpenSSL EVP (uses the CPU's SHA
// instructions where present).
#pragma once

#include <memory>
#include <string>

#include "blobcache/types.hpp"

namespace blobcache::detail {

// Not thread-safe; one hash per object. Throws Error(Errc::io) if OpenSSL
// fails (out of memory).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(BytesView bytes);
  // The lowercase hex digest; the object can then not be updated again.
  std::string finish_hex();

  static std::string hex_of(BytesView bytes);

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace blobcache::detail
