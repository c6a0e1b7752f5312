// Internal: reading an std::istream in chunks with clear errors.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <span>
#include <string_view>

namespace blobcache::detail {

// Failed for another reason than reaching its end: badbit, or failbit
// without eofbit (a file stream whose file did not open, a parse gone wrong).
bool has_failed(const std::istream& in) noexcept;

// Fills `buffer` from `in` as far as the stream allows; returns the count
// (less than buffer.size() only at the end of the stream). Throws
// Error(Errc::io) naming `what` when the stream has failed before or fails
// while it is read: badbit, failbit without eofbit (the end of a stream
// sets both, which is not a failure), or an exception from the stream
// buffer.
std::size_t read_chunk(std::istream& in, std::span<std::byte> buffer, std::string_view what);

}  // namespace blobcache::detail
