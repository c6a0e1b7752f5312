// Store: the abstract blob store, addressed by (namespace, key).
//
// Thread-safety: every method of every Store is safe to call from many
// threads at once without external synchronization.
//
// The public methods are non-virtual: they validate namespaces and keys
// (see names.hpp), PutOptions::if_match and a lease's owner and ttl, then
// call the protected do_* virtuals. A backend therefore never sees a bad
// name. Backend authors implement the
// do_* methods and run blobcache::testing::run_store_contract against them.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string_view>
#include <vector>

#include "blobcache/export.hpp"
#include "blobcache/types.hpp"

namespace blobcache {

// Reads one blob as it was when opened: a replacement or erase that happens
// while reading is not seen. Not thread-safe: one reader, one thread at a
// time. The reader holds resources of its store (for SqliteStore a read
// snapshot): destroy it before the store and do not keep it for long.
class BLOBCACHE_EXPORT BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Copies up to out.size() bytes into `out`; returns how many. Returns 0
  // only at the end of the blob (or when out is empty). Throws
  // Error(Errc::corrupt) instead of returning bytes that fail an integrity
  // check, Error(Errc::io) on read errors.
  virtual std::size_t read(std::span<std::byte> out) = 0;
  virtual const Meta& meta() const noexcept = 0;
};

class BLOBCACHE_EXPORT Store {
 public:
  virtual ~Store() = default;

  // The whole value and its metadata; nullopt when absent (a miss is never
  // an error). Holds the whole value in memory: use open() for large ones.
  // Throws Error: invalid_namespace, invalid_key, or backend errors
  // (busy, corrupt, io).
  std::optional<Blob> get(std::string_view ns, std::string_view key);

  // get() into a Blob the caller owns: on a hit replaces `out` with the
  // entry and returns true; on a miss returns false and leaves `out` as it
  // was. On SqliteStore a value served from memory is copied straight into
  // `out`, saving get()'s move of the Blob out of the optional
  // (Cache::get_or_fill's fresh hits use it); other backends move get()'s
  // Blob into `out`. Throws what get() throws; `out` is then valid but
  // unspecified.
  bool get_into(std::string_view ns, std::string_view key, Blob& out);

  // Stores `value` under (ns, key), replacing any previous entry. The bytes
  // and the metadata become visible together or not at all. Returns the
  // stored Meta (size, updated_at from the store's clock, etag = SHA-256 of
  // `value`). Throws Error: invalid_namespace, invalid_key, invalid_argument
  // (a malformed opts.if_match), precondition_failed (opts.if_match did not
  // hold; nothing written), unsupported (if_match on a backend that cannot
  // check it), too_large, read_only, no_space, busy, io.
  Meta put(std::string_view ns, std::string_view key, BytesView value, const PutOptions& opts = {});
  Meta put(std::string_view ns, std::string_view key, std::string_view text,
           const PutOptions& opts = {});

  // Stores every request of `batch` as one unit: all become visible or, when
  // any fails, none does (on backends that support transactions; the
  // default implementation puts one by one and says so in Info). Returns the
  // Metas in the order of `batch`. Every name is validated before anything
  // is written. Throws what put() throws.
  std::vector<Meta> put_many(std::span<const PutRequest> batch);

  // A reader over the value as it is now; nullptr when absent. Constant
  // memory whatever the value's size. Throws Error: invalid_namespace,
  // invalid_key, busy, corrupt, io.
  std::unique_ptr<BlobReader> open(std::string_view ns, std::string_view key);

  // Stores the bytes read from `in` until its end, hashing as it reads, in
  // constant memory on streaming backends. Nothing becomes visible before
  // the whole stream is read. When `stop` is requested the put stops with
  // Error(Errc::cancelled) and nothing is visible. A stream that has failed
  // before or fails while read (badbit, or failbit without the eof of its
  // end: a file stream whose file did not open) gives Error(Errc::io) and
  // nothing is visible. opts.if_match is checked when the value is
  // published. Throws what put() throws, and cancelled and io as above.
  Meta put_stream(std::string_view ns, std::string_view key, std::istream& in,
                  const PutOptions& opts = {}, std::stop_token stop = {});

  // Removes one entry; an absent key is not an error. Throws Error:
  // invalid_namespace, invalid_key, read_only, busy, io.
  void erase(std::string_view ns, std::string_view key);

  // Removes every entry of `ns` (and only of `ns`: "a/b" survives erasing
  // "a") as one unit. Throws Error: invalid_namespace, read_only, busy, io.
  void erase_namespace(std::string_view ns);

  // The entries of `ns`, sorted by key (bytewise). Costs memory for every
  // entry's metadata, never for the values. Throws Error: invalid_namespace,
  // busy, corrupt, io.
  std::vector<Object> list(std::string_view ns);

  // Erases every entry of `ns` that `Policy{ttl}` at `now` calls expired
  // (see policy.hpp) and returns how many; they count as expirations in
  // stats(). Throws Error: invalid_namespace, read_only, busy, io.
  std::size_t erase_expired(std::string_view ns, TimePoint now, Duration ttl);

  // Every namespace holding at least one entry, sorted by name, with its
  // entry count and total bytes. Throws Error(Errc::unsupported) on backends
  // that cannot enumerate namespaces.
  std::vector<NamespaceInfo> namespaces();

  // Deep verification: reads every entry of every namespace whole and checks
  // that its bytes hash to its etag and match its size. Failures are
  // collected in the report, not thrown. `progress`, when given, is called
  // after each entry on the calling thread. Its reads are not lookups: they
  // count in no hits or misses. Throws Error(Errc::cancelled) when `stop`
  // is requested, and what namespaces() throws.
  // Cost: reads every byte of the store.
  VerifyReport verify(const std::function<void(const VerifyProgress&)>& progress = {},
                      std::stop_token stop = {});

  // Entries and bytes (exact), per namespace and in total, and the
  // counters: hits and misses of get()/open(), evictions, expirations.
  // Counters are totals since the store was created or reset: for
  // SqliteStore they live in the file, survive restarts and add up the work
  // of every process using it (each process may hold its counts in memory
  // for a short while; they are written at the latest when the store is
  // destroyed). Cost: independent of the number of entries on the built-in
  // backends. Default (backends without counters): entries and bytes from
  // namespaces(), counters 0. Throws what namespaces() throws.
  Stats stats();
  // Zeroes the counters of every namespace (not entries or bytes). Throws
  // Error: read_only, busy, io.
  void reset_stats();

  // Cross-process single flight for Cache::get_or_fill. Records that
  // `owner` (an opaque token unique to one caller) computes (ns, key) until
  // now + `ttl`, unless another owner holds an unexpired lease on it.
  // Returns true when `owner` holds the lease now (newly or again). A lease
  // never blocks ordinary puts or erases of the key, and expired leases
  // are ignored. Default (backends shared by no other process): true.
  // Throws Error: invalid_namespace, invalid_key, invalid_argument (empty
  // owner, ttl <= 0), read_only, busy, io.
  bool try_acquire_lease(std::string_view ns, std::string_view key, std::string_view owner,
                         Duration ttl);
  // Ends `owner`'s lease on (ns, key); nothing when it holds none. Throws
  // what try_acquire_lease throws.
  void release_lease(std::string_view ns, std::string_view key, std::string_view owner);

  // Backend diagnostics. Never throws for the built-in backends.
  Info describe() const;

  // Throws Error when the store is unusable (for SqliteStore: corrupt, io,
  // read_only). Returns normally when it is healthy.
  void check();

 protected:
  virtual std::optional<Blob> do_get(std::string_view ns, std::string_view key) = 0;
  // Default: do_get, its Blob moved into `out`.
  virtual bool do_get_into(std::string_view ns, std::string_view key, Blob& out);
  virtual Meta do_put(std::string_view ns, std::string_view key, BytesView value,
                      const PutOptions& opts) = 0;
  virtual std::unique_ptr<BlobReader> do_open(std::string_view ns, std::string_view key) = 0;
  virtual Meta do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                             const PutOptions& opts, std::stop_token stop) = 0;
  virtual void do_erase(std::string_view ns, std::string_view key) = 0;
  virtual void do_erase_namespace(std::string_view ns) = 0;
  virtual std::vector<Object> do_list(std::string_view ns) = 0;
  // Default: list + erase (not atomic; backends should do better).
  virtual std::size_t do_erase_expired(std::string_view ns, TimePoint now, Duration ttl);
  // Default: Info{}.
  virtual Info do_describe() const;
  // Default: nothing.
  virtual void do_check();
  // Default: do_put for each request in order (not atomic).
  virtual std::vector<Meta> do_put_many(std::span<const PutRequest> batch);
  // Default: throws Error(Errc::unsupported).
  virtual std::vector<NamespaceInfo> do_namespaces();
  // Default: namespaces(), list() and open() each entry, hashing its bytes.
  virtual VerifyReport do_verify(const std::function<void(const VerifyProgress&)>& progress,
                                 std::stop_token stop);
  // Default: entries and bytes from do_namespaces(), counters 0.
  virtual Stats do_stats();
  // Default: nothing.
  virtual void do_reset_stats();
  // Default: true (no other process can hold a lease).
  virtual bool do_try_acquire_lease(std::string_view ns, std::string_view key,
                                    std::string_view owner, Duration ttl);
  // Default: nothing.
  virtual void do_release_lease(std::string_view ns, std::string_view key, std::string_view owner);
};

// store->describe() with `fallback_backend` as the backend name when `store`
// is null or names no backend.
BLOBCACHE_EXPORT Info describe(const Store* store, std::string_view fallback_backend);
// store->check(); a null store is a no-op.
BLOBCACHE_EXPORT void check(Store* store);

}  // namespace blobcache
