// Internal: the Lua scripts that make each RedisStore operation one atomic
// step on the server (docs/design.md, "RedisStore: the scripts").
//
// Every script receives no KEYS (all its keys share the store's hash tag,
// so they are in one slot; it builds their names from the base) and starts
// with the same three arguments: ARGV[1] the layout's base
// ("<prefix>:{<prefix>}:"), ARGV[2] how long a reader's pin lasts (ms),
// ARGV[3] the expiry grace (ms). Each script's own arguments follow from
// ARGV[4] (see scripts.cpp).
#pragma once

#include <string>
#include <string_view>

namespace blobcache::detail::redis {

enum class Script {
  pin,          // ns, key, generation -> 1 | 0 (the entry is another generation now)
  read_chunks,  // ns, key, generation, seq... -> {"current"|"old", chunk...} | {"gone"}
  unpin,        // ns, key, generation
  publish,      // count, then 12 fields per entry -> {"OK"} | {"PRECONDITION", j, etag} | ...
  publish_one,  // publish's, for one entry: the same answers
  erase,        // ns, key[, generation: only while it is that one] -> 1 | 0
  erase_namespace_begin,  // ns, trash id -> the trash keys to drain
  erase_namespace_batch,  // trash key, limit -> how many were taken
  expire_batch,           // ns, now ms, now, cutoff ms, cutoff, limit, skip x, skip u -> counts
  prune,                  // ns, key... (entries a list found gone)
  reset_stats,            // ns...
  acquire_lease,          // lease key, owner, ttl ms -> 1 | 0
  release_lease,          // lease key, owner
};

struct ScriptSource {
  std::string_view body;
  std::string sha1;      // lowercase hex, what EVALSHA names
  std::string function;  // what FCALL names, in library()
};

// The source and SHA-1 of `script` (computed once, thread-safe).
const ScriptSource& source_of(Script script);

// Every script as a function of one Redis function library (Redis 7.0
// and later; FUNCTION LOAD): the shared prelude is then run once per load,
// not once per call. Same arguments as the scripts.
std::string_view library();

}  // namespace blobcache::detail::redis
