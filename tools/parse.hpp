// Parsing of the tool's duration, time, size and count arguments.
//
// Each throws ParseError (a std::invalid_argument) whose what() names the
// offending text and the rule it breaks; the caller turns it into a usage
// error (exit code 2).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "blobcache/sqlite_store.hpp"
#include "blobcache/types.hpp"

namespace blobcache::tool {

class ParseError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A non-negative duration written as one or more <number><unit> terms:
// "90s", "15m", "2h", "7d", "1h30m", "1.5h", "250ms". Units: ns, us, ms, s,
// m, h, d (24h). A bare "0" is allowed; any other number needs a unit.
// Throws ParseError on anything else, including a duration longer than
// Duration holds (106751d23h47m16.854775807s; the message says so).
Duration parse_duration(std::string_view text);

// An RFC 3339 date-time: "2026-01-02T03:04:05Z", with optional fractional
// seconds (up to nanoseconds; further digits are truncated) and a "Z" or
// "+HH:MM"/"-HH:MM" offset. 't'/'z' and a space for 'T' are accepted too, as
// RFC 3339 allows. Leap seconds (":60") are rejected: TimePoint cannot hold
// them. Every instant TimePoint holds is accepted, to the nanosecond (see
// representable_times()); one outside is a ParseError giving that range, as
// is anything else.
TimePoint parse_time(std::string_view text);

// The instants a TimePoint holds (64-bit nanoseconds since 1970), as text:
// "1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z".
std::string representable_times();

// now + ttl, for put --ttl. Throws ParseError naming the ttl and the
// representable range when the sum is outside it; never overflows.
TimePoint expiry_after(TimePoint now, Duration ttl);

// A size in bytes: a whole number with an optional unit, "16384", "500M",
// "64KiB", "2GB", or a decimal fraction with a unit, "1.5G" (rounded down to
// whole bytes). Units, in any case: B; K, M, G, T and KiB, MiB, GiB, TiB are
// powers of 1024 (as the tool prints sizes, and as dd and sort -S read
// them); KB, MB, GB, TB are powers of 1000. Throws ParseError for a negative
// size, an unknown unit, anything else that is not a size, and a size
// above 9223372036854775807 bytes (what an int64 holds).
std::int64_t parse_size(std::string_view text);

// A whole number of things, "1000" (no unit, no sign). Throws ParseError for
// anything else, and above 9223372036854775807.
std::int64_t parse_count(std::string_view text);

// "lru" or "least_recently_used", "lrs" or "least_recently_stored". Throws
// ParseError naming the accepted names for anything else.
EvictionPolicy parse_eviction(std::string_view text);

}  // namespace blobcache::tool
