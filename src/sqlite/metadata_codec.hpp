// Internal: the on-disk encoding of Meta::metadata. Data, never code: no
// parser that can execute or allocate without bound.
//
// Format (version 1), all integers unsigned LEB128:
//   empty map  -> zero bytes
//   otherwise  -> 0x01, count, then `count` times: name length, name bytes,
//                 value length, value bytes; names strictly ascending
//                 (bytewise), nothing after the last pair.
// NEVER change an existing version's layout: files on disk depend on it.
#pragma once

#include <map>
#include <string>

#include "blobcache/types.hpp"

namespace blobcache::detail {

using MetadataMap = std::map<std::string, std::string>;

Bytes encode_metadata(const MetadataMap& metadata);
// Throws Error(Errc::corrupt) when `encoded` is not a canonical encoding.
MetadataMap decode_metadata(BytesView encoded);

}  // namespace blobcache::detail
