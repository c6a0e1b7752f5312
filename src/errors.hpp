// Internal: raising blobcache::Error.
#pragma once

#include <string>

#include "blobcache/error.hpp"

namespace blobcache::detail {

// Throws Error(code, message). `message` names the operation, the
// namespace/key or file, and the cause.
[[noreturn]] void throw_error(Errc code, const std::string& message);

}  // namespace blobcache::detail
