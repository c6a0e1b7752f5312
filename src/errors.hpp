// Internal: raising blobcache::Error.
#pragma once

#include <string>
#include <string_view>

#include "blobcache/error.hpp"

namespace blobcache::detail {

// Throws Error(code, message). `message` names the operation, the
// namespace/key or file, and the cause.
[[noreturn]] void throw_error(Errc code, const std::string& message);

// `operation "ns"/"key"`, or `operation "ns"` without a key, or
// `operation` alone: how a message names what it was doing.
std::string describe_entry(std::string_view operation, std::string_view ns = {},
                           std::string_view key = {});

}  // namespace blobcache::detail
