// MemoryStore: a thread-safe in-process store, for tests and small caches.
#pragma once

#include <memory>
#include <string>

#include "blobcache/clock.hpp"
#include "blobcache/export.hpp"
#include "blobcache/store.hpp"

namespace blobcache {

// Holds every value in memory; nothing outlives the object. Thread-safe:
// readers run in parallel, writers exclusively. get/put cost one map lookup
// plus a copy of the value; open() shares the value without copying it, so
// a reader keeps reading the bytes it opened after a replacement.
// Conditional puts (PutOptions::if_match) and statistics are supported;
// stats() counts hits, misses and expirations in memory (never evictions:
// a MemoryStore has no limits) and costs O(entries).
// describe(): backend "memory", root as given, every supports_* true.
class BLOBCACHE_EXPORT MemoryStore final : public Store {
 public:
  // `clock` stamps updated_at; null: system_clock().
  explicit MemoryStore(std::string root = {}, std::shared_ptr<const Clock> clock = {});
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

 protected:
  std::optional<Blob> do_get(std::string_view ns, std::string_view key) override;
  Meta do_put(std::string_view ns, std::string_view key, BytesView value,
              const PutOptions& opts) override;
  std::unique_ptr<BlobReader> do_open(std::string_view ns, std::string_view key) override;
  Meta do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                     const PutOptions& opts, std::stop_token stop) override;
  void do_erase(std::string_view ns, std::string_view key) override;
  void do_erase_namespace(std::string_view ns) override;
  std::vector<Object> do_list(std::string_view ns) override;
  std::vector<Meta> do_put_many(std::span<const PutRequest> batch) override;
  std::size_t do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) override;
  std::vector<NamespaceInfo> do_namespaces() override;
  Info do_describe() const override;
  Stats do_stats() override;
  void do_reset_stats() override;

 private:
  struct BLOBCACHE_HIDDEN State;
  std::unique_ptr<State> state_;
};

}  // namespace blobcache
