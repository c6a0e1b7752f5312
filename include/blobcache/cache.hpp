// Cache: one namespace of a store, seen through a Policy.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "blobcache/policy.hpp"
#include "blobcache/store.hpp"
#include "blobcache/types.hpp"

namespace blobcache {

// Cheap to copy (copies share the store). Thread-safe: the store is, and a
// Cache is immutable after construction.
//
// A Cache over a null store is a disabled cache: get, get_fresh, at, open,
// put and put_stream throw Error(Errc::store_not_configured); erase,
// erase_namespace and clean_expired do nothing; list is empty; dir is "".
class Cache {
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

 private:
  // The store; throws Error(Errc::store_not_configured) naming `operation`
  // and `key` when there is none.
  Store& require_store(std::string_view operation, std::string_view key) const;

  std::shared_ptr<Store> store_;
  std::string ns_;
  Policy policy_;
};

}  // namespace blobcache
