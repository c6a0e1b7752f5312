// Internal: the names of RedisStore's keys. The Lua scripts (scripts.cpp)
// build the same names from base(); change both together, and never change
// them for existing data (docs/design.md, "RedisStore: layout").
//
// Every key is <prefix>:{<prefix>}:<kind>... The hash tag {<prefix>} puts
// all keys of one store in one cluster slot, so each script's keys are in
// one slot (see the design's cluster trade-off).
//
//   e:<len(ns)>:<ns>:<key>  HASH  one entry: m (metadata), g (generation),
//                                 t (etag), s (size), n (chunks), x or u
//                                 (expires_at or updated_at, sortable),
//                                 "0".."n-1" (the chunks)
//   t:<gen>                 HASH  a put's chunks before it is published (TTL)
//   o:<gen>                 HASH  a replaced generation readers still read (TTL)
//   p:<gen>                 STRING how many readers pin that generation (TTL)
//   i:<ns>                  ZSET  key -> size: the namespace's entries; and
//                                 "\0entries", "\0bytes" -> its totals
//   x:<ns>                  ZSET  key -> expires_at (ms): entries with one
//   u:<ns>                  ZSET  key -> updated_at (ms): entries without one
//   s:<ns>                  HASH  hits, misses, evictions, expirations
//   n                       SET   namespaces with entries or counters
//   z:<id>                  ZSET  the index of a namespace being erased
//   zs                      HASH  z:<id> -> its namespace
//   l:<len(ns)>:<ns>:<key>  STRING the owner of a fill lease (TTL)
#pragma once

#include <string>
#include <string_view>

namespace blobcache::detail::redis {

class Layout {
 public:
  explicit Layout(std::string_view prefix);

  // "<prefix>:{<prefix>}:": what every key starts with.
  const std::string& base() const noexcept { return base_; }

  std::string entry(std::string_view ns, std::string_view key) const;
  std::string temp(std::string_view generation) const;
  std::string index(std::string_view ns) const;
  std::string stats(std::string_view ns) const;
  std::string namespaces() const;
  std::string trash(std::string_view id) const;
  std::string trash_registry() const;
  std::string lease(std::string_view ns, std::string_view key) const;

 private:
  std::string named(std::string_view kind, std::string_view ns, std::string_view key) const;

  std::string base_;
};

}  // namespace blobcache::detail::redis
