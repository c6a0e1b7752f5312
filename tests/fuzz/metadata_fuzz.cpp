// Fuzz target: the metadata encoding read from disk. Properties: decoding
// never crashes, never allocates beyond the input's size, only ever throws
// Errc::corrupt, and the encoding is canonical: whatever decodes re-encodes
// to exactly the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "blobcache/error.hpp"

#include "sqlite/metadata_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const blobcache::BytesView input(reinterpret_cast<const std::byte*>(data), size);
  blobcache::detail::MetadataMap decoded;
  try {
    decoded = blobcache::detail::decode_metadata(input);
  } catch (const blobcache::Error& e) {
    if (e.code() != blobcache::Errc::corrupt) std::abort();
    return 0;
  }
  const blobcache::Bytes again = blobcache::detail::encode_metadata(decoded);
  if (again.size() != size || !std::equal(again.begin(), again.end(), input.begin())) std::abort();
  return 0;
}
