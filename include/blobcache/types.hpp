// Value types shared by every part of the API.
//
// All types here are plain values: copy them freely. None of them is
// synchronized; share one between threads only for reading.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blobcache/export.hpp"

namespace blobcache {

using Bytes = std::vector<std::byte>;
using BytesView = std::span<const std::byte>;
using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

// Views the characters of `text` as bytes. The view borrows `text`'s storage.
BLOBCACHE_EXPORT BytesView as_bytes(std::string_view text) noexcept;
// Views `bytes` as characters. The view borrows `bytes`' storage.
BLOBCACHE_EXPORT std::string_view as_text(BytesView bytes) noexcept;

// How a put stores an entry. An aggregate: write
// `PutOptions{.content_type = "text/plain", .expires_at = t}`.
struct BLOBCACHE_EXPORT PutOptions {
  // Free-form MIME type, stored and returned as given.
  std::string content_type;
  // Absolute expiry. When set it wins over any TTL policy (see Policy).
  std::optional<TimePoint> expires_at;
  // Application metadata, stored and returned exactly (any bytes in names
  // and values, including empty strings).
  std::map<std::string, std::string> metadata;
  // When set, the put happens only if the entry's current etag equals this
  // value; "" means only if no entry exists. Otherwise the put throws
  // Error(Errc::precondition_failed) naming the namespace/key, and nothing
  // is written. The check and the write are one atomic step, across
  // threads and processes. Anything but "" or a lowercase hex SHA-256 (64
  // characters) is Error(Errc::invalid_argument). Backends that cannot
  // check it atomically throw Error(Errc::unsupported)
  // (Info::supports_conditional_put says which).
  std::optional<std::string> if_match;
};

// What the store knows about one entry.
struct BLOBCACHE_EXPORT Meta {
  std::int64_t size = 0;                // length of the value in bytes
  TimePoint updated_at{};               // stamped by the store's clock at put
  std::optional<TimePoint> expires_at;  // as given in PutOptions
  std::string etag;                     // lowercase hex SHA-256 of the stored bytes
  std::string content_type;
  std::map<std::string, std::string> metadata;
  friend bool operator==(const Meta&, const Meta&) = default;
};

// One entry of a namespace, as listed by Store::list().
struct BLOBCACHE_EXPORT Object {
  std::string key;
  Meta meta;
  friend bool operator==(const Object&, const Object&) = default;
};

// A whole value with its metadata, as returned by Store::get().
struct BLOBCACHE_EXPORT Blob {
  Bytes data;
  Meta meta;
  // The value viewed as characters; borrows `data`.
  std::string_view text() const noexcept;
};

// One entry seen through a Policy, as listed by Cache::list().
struct BLOBCACHE_EXPORT Entry {
  std::string key;
  Meta meta;
  Duration age;         // now - updated_at
  Duration expires_in;  // see Policy::expires_in()
  friend bool operator==(const Entry&, const Entry&) = default;
};

// Diagnostics describing a backend, as returned by Store::describe().
struct BLOBCACHE_EXPORT Info {
  std::string backend;  // "sqlite", "memory", "redis", "tiered", ...
  std::string root;     // where the data lives (the SQLite file path, redis://host:port/db)
  bool supports_list = false;
  bool supports_stream = false;
  bool supports_delete_namespace = false;
  // PutOptions::if_match is checked atomically with the write.
  bool supports_conditional_put = false;
  // Backend-specific facts for people and tools, by name (e.g. a server's
  // "redis_version", a tier's "far" state); never needed to use the store.
  std::map<std::string, std::string> details;
};

// One put of a batch (Store::put_many). Borrows `ns`, `key` and `value`:
// they must stay valid until put_many returns.
struct BLOBCACHE_EXPORT PutRequest {
  std::string_view ns;
  std::string_view key;
  BytesView value;
  PutOptions options;
};

// One namespace of a store with its totals, as returned by
// Store::namespaces().
struct BLOBCACHE_EXPORT NamespaceInfo {
  std::string name;
  std::int64_t entries = 0;
  std::int64_t bytes = 0;  // sum of the values' sizes
  friend bool operator==(const NamespaceInfo&, const NamespaceInfo&) = default;
};

// Statistics of one namespace, as part of Stats.
struct BLOBCACHE_EXPORT NamespaceStats {
  std::string ns;
  std::int64_t entries = 0;
  std::int64_t bytes = 0;         // sum of the values' sizes
  std::uint64_t hits = 0;         // get()/open() that found the entry
  std::uint64_t misses = 0;       // get()/open() that did not
  std::uint64_t evictions = 0;    // entries removed to honour a limit
  std::uint64_t expirations = 0;  // entries removed by erase_expired()
  friend bool operator==(const NamespaceStats&, const NamespaceStats&) = default;
};

// Statistics of a store, as returned by Store::stats(). Entries and bytes
// are exact at the moment they are read; the counters are totals since the
// store was created or reset (see Store::stats() for when a backend writes
// them).
struct BLOBCACHE_EXPORT Stats {
  std::int64_t entries = 0;
  std::int64_t bytes = 0;       // sum of the values' sizes
  std::int64_t file_bytes = 0;  // on disk (database + WAL); 0 where not applicable
  std::int64_t max_bytes = 0;   // the limits in force; 0: none
  std::int64_t max_entries = 0;
  std::uint64_t hits = 0, misses = 0, evictions = 0, expirations = 0;  // sums over namespaces
  std::vector<NamespaceStats> namespaces;                              // sorted by ns
  // Calls a TieredStore served without its far store because it failed or
  // was skipped while unavailable; 0 for other backends.
  std::uint64_t far_failures = 0;
  friend bool operator==(const Stats&, const Stats&) = default;
};

// One entry that failed a deep verification (Store::verify()).
struct BLOBCACHE_EXPORT VerifyFailure {
  std::string ns;
  std::string key;
  std::string reason;  // e.g. "etag mismatch", "size mismatch", or an Error's what()
};

// The outcome of Store::verify().
struct BLOBCACHE_EXPORT VerifyReport {
  std::int64_t entries_checked = 0;
  std::int64_t bytes_checked = 0;
  std::vector<VerifyFailure> failures;
  bool ok() const noexcept { return failures.empty(); }
};

// Progress of Store::verify(), reported after each entry.
struct BLOBCACHE_EXPORT VerifyProgress {
  std::int64_t entries_done = 0;
  std::int64_t entries_total = 0;
  std::int64_t bytes_done = 0;
  std::int64_t bytes_total = 0;
};

}  // namespace blobcache
