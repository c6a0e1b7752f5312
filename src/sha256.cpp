#include "sha256.hpp"

#include <array>
#include <gsl/gsl>
#include <openssl/evp.h>

#include "errors.hpp"

namespace blobcache::detail {

namespace {

// The provider's SHA-256, fetched once for the process: EVP_sha256() makes
// every EVP_DigestInit_ex fetch it again (OpenSSL 3), which was 40 % of
// hashing a 1 KiB put's value in perf. Thread-safe (a static's
// initialisation); freed at exit. Null when OpenSSL could not fetch it.
const EVP_MD* sha256_algorithm() noexcept {
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> algorithm{
      EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free};
  return algorithm.get();
}

}  // namespace

struct Sha256::Context {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  const EVP_MD* algorithm = sha256_algorithm();
  if (!context_->ctx || algorithm == nullptr ||
      EVP_DigestInit_ex2(context_->ctx.get(), algorithm, nullptr) != 1) {
    throw_error(Errc::io, "sha256: OpenSSL could not initialise a digest");
  }
}

Sha256::~Sha256() = default;

void Sha256::update(BytesView bytes) {
  if (bytes.empty()) return;
  if (EVP_DigestUpdate(context_->ctx.get(), bytes.data(), bytes.size()) != 1) {
    throw_error(Errc::io, "sha256: OpenSSL digest update failed");
  }
}

std::string Sha256::finish_hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->ctx.get(), digest.data(), &length) != 1) {
    throw_error(Errc::io, "sha256: OpenSSL digest final failed");
  }
  Ensures(length == 32);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest.at(i) >> 4];
    hex += kHex[digest.at(i) & 0xF];
  }
  return hex;
}

std::string Sha256::hex_of(BytesView bytes) {
  Sha256 hash;
  hash.update(bytes);
  return hash.finish_hex();
}

}  // namespace blobcache::detail
