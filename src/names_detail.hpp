// Internal: name validation that names the operation, for Store and Cache.
#pragma once

#include <string_view>

namespace blobcache::detail {

// validate_namespace(ns), with the message
// `<operation> "<ns>": the namespace <rule it breaks>`.
void validate_names(std::string_view operation, std::string_view ns);
// validate_namespace(ns) then validate_key(key), with the message
// `<operation> "<ns>"/"<key>": the namespace|key <rule it breaks>`.
void validate_names(std::string_view operation, std::string_view ns, std::string_view key);

}  // namespace blobcache::detail
