#include "blobcache/types.hpp"

namespace blobcache {

BytesView as_bytes(std::string_view text) noexcept {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

std::string_view as_text(BytesView bytes) noexcept {
  // std::byte and char may alias each other, so this view is well-defined.
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT
}

std::string_view Blob::text() const noexcept { return as_text(data); }

}  // namespace blobcache
