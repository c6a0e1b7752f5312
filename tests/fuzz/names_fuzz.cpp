// Fuzz target: the name grammar. Properties: validation never crashes, only
// ever throws the right Errc, agrees with is_valid_name(), and every name it
// accepts satisfies the grammar as checked here by an independent reading.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "blobcache/error.hpp"
#include "blobcache/names.hpp"

namespace {

// Decodes one UTF-8 code point the slow way; false when malformed.
bool next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int extra = 0;
  std::uint32_t cp = 0;
  if (b0 < 0x80) {
    cp = b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
  } else
    return false;
  if (i + static_cast<std::size_t>(extra) >= s.size()) return false;
  for (int k = 1; k <= extra; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += static_cast<std::size_t>(extra) + 1;
  return true;
}

bool independently_valid(std::string_view name) {
  if (name.empty() || name.size() > 1024) return false;
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7F || c == '\\') return false;
    if (!next_code_point(name, i)) return false;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    const std::string_view segment =
        name.substr(start, slash == std::string_view::npos ? name.size() - start : slash - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

template <typename Validate>
bool accepted(Validate validate, std::string_view name, blobcache::Errc expected) {
  try {
    validate(name);
    return true;
  } catch (const blobcache::Error& e) {
    if (e.code() != expected) std::abort();
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  const bool valid = blobcache::is_valid_name(name);
  if (accepted(blobcache::validate_key, name, blobcache::Errc::invalid_key) != valid) std::abort();
  if (accepted(blobcache::validate_namespace, name, blobcache::Errc::invalid_namespace) != valid)
    std::abort();
  if (independently_valid(name) != valid) std::abort();
  return 0;
}
