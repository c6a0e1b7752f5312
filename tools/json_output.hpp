// JSON documents of the --json mode, built with nlohmann-json.
//
// Times are RFC 3339 strings (format_time), durations are seconds as
// numbers, sizes are bytes. Every document is one object so that fields
// can be added later without breaking readers.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>

#include "blobcache/sqlite_store.hpp"
#include "blobcache/types.hpp"

namespace blobcache::tool {

// {"size", "updated_at", "expires_at" (null when none), "etag",
//  "content_type", "metadata": {name: value}}
nlohmann::json meta_json(const Meta& meta);

// {"max_bytes", "max_entries" (0: no bound, as in Limits), "eviction"
//  ("least_recently_stored" or "least_recently_used")}
nlohmann::json limits_json(const Limits& limits);

// A duration in seconds, keeping nanosecond precision as far as a double can.
double seconds_json(Duration d);

// Writes `document` indented, followed by a newline. Bytes that are not
// valid UTF-8 (metadata and content types may hold any bytes) are written
// as U+FFFD rather than making the dump throw.
void print_json(std::ostream& out, const nlohmann::json& document);

}  // namespace blobcache::tool
