// Cache: one namespace of a store, seen through a Policy.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "blobcache/export.hpp"
#include "blobcache/policy.hpp"
#include "blobcache/store.hpp"
#include "blobcache/types.hpp"

namespace blobcache {

// What a get_or_fill function returns: the value to store and how.
struct Fill {
  Bytes data;
  // Stored as given, except if_match: get_or_fill sets it to the etag it
  // saw (or "" for none) unless the function set one itself.
  PutOptions opts;
};

// What get_or_fill returns.
struct Lookup {
  Blob blob;
  // false: an expired entry, served because the fill threw (stale_if_error).
  bool fresh = true;
  // true: this call ran the fill and stored its result.
  bool filled = false;
};

struct FillOptions {
  // How long others wait for one filler before one of them takes over (a
  // filler that died or hangs). Must be positive.
  Duration lease = std::chrono::seconds(30);
  // Serve the expired entry, if there is one, when the fill throws.
  bool stale_if_error = true;
};

// Cheap to copy (copies share the store). Thread-safe: the store is, and a
// Cache is immutable after construction.
//
// A Cache over a null store is a disabled cache: get, get_fresh, at, open,
// put and put_stream throw Error(Errc::store_not_configured); erase,
// erase_namespace and clean_expired do nothing; list is empty; dir is "".
class BLOBCACHE_EXPORT Cache {
 public:
  // Throws Error(Errc::invalid_namespace) when `store` is set and `ns`
  // breaks the name grammar.
  Cache(std::shared_ptr<Store> store, std::string ns, Duration ttl);
  Cache(std::shared_ptr<Store> store, std::string ns, Policy policy);

  // describe(store, "").root: where the data lives.
  std::string dir() const;
  Duration ttl() const;
  const std::string& ns() const noexcept;
  const Policy& policy() const noexcept;
  const std::shared_ptr<Store>& store() const noexcept;

  // The entry, expired or not (check policy().is_expired(meta) yourself to
  // serve stale data deliberately); nullopt when absent. Throws what
  // Store::get throws.
  std::optional<Blob> get(std::string_view key) const;
  // The entry when it is fresh: nullopt when absent or when the policy
  // calls it expired now (it is left in place; clean_expired erases it).
  // Throws what Store::get throws.
  std::optional<Blob> get_fresh(std::string_view key) const;
  // The entry, expired or not; throws Error(Errc::entry_not_found) when
  // absent.
  Blob at(std::string_view key) const;
  // A reader over the entry, expired or not (its meta() tells: pass it to
  // policy().is_expired); nullptr when absent. Constant memory whatever the
  // value's size. The reader holds resources of the store: see BlobReader.
  // Throws what Store::open throws.
  std::unique_ptr<BlobReader> open(std::string_view key) const;
  Meta put(std::string_view key, BytesView value, const PutOptions& opts = {});
  Meta put(std::string_view key, std::string_view text, const PutOptions& opts = {});
  // Stores the bytes read from `in` until its end, in constant memory on
  // streaming backends; nothing is visible before the whole stream is read.
  // Throws what Store::put_stream throws (Errc::cancelled when `stop` is
  // requested, Errc::io when the stream fails).
  Meta put_stream(std::string_view key, std::istream& in, const PutOptions& opts = {},
                  std::stop_token stop = {});
  void erase(std::string_view key);
  void erase_namespace();
  // Every entry with its age and expires_in under the policy, sorted by key.
  std::vector<Entry> list() const;
  // Erases the entries the policy calls expired now; returns how many.
  std::size_t clean_expired();

  // Get, or compute and store, with one computation per key. A fresh entry
  // (not expired under the policy) is returned as is (fresh, not filled).
  // Otherwise exactly one caller per (store, namespace, key) runs `fill`:
  // the other threads of this process that ask meanwhile wait for it (on a
  // condition variable) and get its outcome; on backends shared by
  // processes (SqliteStore, RedisStore) the callers in other processes wait
  // too, through a lease in the store (Store::try_acquire_lease): they poll
  // the store, sleeping 1 ms doubling to 100 ms between polls, never
  // spinning. A filler that dies or outlives opts.lease is replaced by one
  // of the waiters. The fill's result is stored with if_match set to the
  // etag the filler saw, so a value written meanwhile by someone else is
  // never overwritten: that newer value is returned instead (filled
  // false). When `fill` throws (anything): the lease is released at once,
  // and the call returns the expired entry (fresh false) if there is one
  // and opts.stale_if_error, else rethrows fill's exception unchanged; the
  // threads that waited for this call get the same outcome, and the next
  // caller fills again.
  //
  // Waiting lasts as long as another filler holds its lease (at most
  // opts.lease after it took it); each store call waits for locks as the
  // store does (SqliteOptions::busy_timeout). Throws what the store's get,
  // put and lease calls throw (Errc::store_not_configured without a store,
  // Errc::invalid_key, Errc::invalid_argument for opts.lease <= 0 or a
  // malformed if_match returned by `fill`), or fill's exception. Cost on a
  // fresh hit: one get.
  Lookup get_or_fill(std::string_view key, const std::function<Fill()>& fill,
                     const FillOptions& opts = {});

 private:
  // The store; throws Error(Errc::store_not_configured) naming `operation`
  // and `key` when there is none.
  Store& require_store(std::string_view operation, std::string_view key) const;
  // get_or_fill past a miss: one flight per (store, namespace, key) in this
  // process, whose leader runs fill_across_processes. Out of line so that
  // the fresh hit's path stays short.
  Lookup fill_missing(Store& store, std::string_view key, const std::function<Fill()>& fill,
                      const FillOptions& opts) const;
  // get_or_fill's leader: fills under a lease of the store, or waits for the
  // process that holds it.
  Lookup fill_across_processes(Store& store, std::string_view key,
                               const std::function<Fill()>& fill, const FillOptions& opts) const;

  std::shared_ptr<Store> store_;
  std::string ns_;
  Policy policy_;
};

}  // namespace blobcache
