// Cache: one namespace of a store, seen through a Policy.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blobcache/export.hpp"
#include "blobcache/policy.hpp"
#include "blobcache/store.hpp"
#include "blobcache/types.hpp"

namespace blobcache {

// Cheap to copy (copies share the store). Thread-safe: the store is, and a
// Cache is immutable after construction.
//
// A Cache over a null store is a disabled cache: get, at and put throw
// Error(Errc::store_not_configured); erase, erase_namespace and
// clean_expired do nothing; list is empty; dir is "".
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
  // serve stale data deliberately); nullopt when absent.
  std::optional<Blob> get(std::string_view key) const;
  // The entry; throws Error(Errc::entry_not_found) when absent.
  Blob at(std::string_view key) const;
  Meta put(std::string_view key, BytesView value, const PutOptions& opts = {});
  Meta put(std::string_view key, std::string_view text, const PutOptions& opts = {});
  void erase(std::string_view key);
  void erase_namespace();
  // Every entry with its age and expires_in under the policy, sorted by key.
  std::vector<Entry> list() const;
  // Erases the entries the policy calls expired now; returns how many.
  std::size_t clean_expired();

 private:
  Store& require_store() const;

  std::shared_ptr<Store> store_;
  std::string ns_;
  Policy policy_;
};

}  // namespace blobcache
