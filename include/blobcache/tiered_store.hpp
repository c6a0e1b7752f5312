// TieredStore: a local store (near) in front of a shared one (far), such as a
// SqliteStore in front of a RedisStore, seen as one Store.
#pragma once

#include <chrono>
#include <memory>

#include "blobcache/export.hpp"
#include "blobcache/store.hpp"

namespace blobcache {

// An aggregate: `TieredOptions{.cooldown = std::chrono::seconds(5)}`.
struct BLOBCACHE_EXPORT TieredOptions {
  // After far fails with Errc::unavailable, calls skip it for this long
  // (served by near alone) instead of each paying far's timeout; the first
  // call after it tries far again.
  std::chrono::milliseconds cooldown{std::chrono::seconds(30)};
};

// far is the source of truth. get/open: near, else far (a far hit is copied
// into near; open() copies the whole value first, then reads the copy);
// put, put_many and erase: far, then near; put_stream: far, then near's old
// copy is erased (the stream cannot be read twice; the next get or open
// copies the value in); erase_namespace, erase_expired: far, then near;
// list, namespaces, verify, leases: far.
//
// Returned Meta are far's: near keeps far's updated_at in a reserved
// metadata name ("\0blobcache.far_updated_at"), hidden from callers, so a
// value read from near carries the Meta that far returned.
//
// When far throws Error(Errc::unavailable), the call is served by near
// alone (reads from near; writes, erases and conditional puts to near
// only; list and namespaces from near), and far is skipped for
// TieredOptions::cooldown; every call served so counts in
// stats().far_failures, and describe().details["far"] says "unavailable"
// with the cause until far answers again. Callers never see unavailable
// while near works. Other errors of far (no_space, corrupt, ...) reach the
// caller. What was written to near alone during an outage is not copied to
// far afterwards.
//
// Near copies are not invalidated when another process changes far: a key
// whose value changes should be written through one TieredStore, or be
// content-addressed (its value never changes), as build caches do.
//
// stats(): entries, bytes, evictions and expirations of far (of near while
// far is unavailable); hits and misses of this TieredStore object (a near
// or a far hit is a hit), counted in memory since construction or
// reset_stats(); far_failures. reset_stats() resets both stores' counters
// and its own.
//
// Thread-safe when near and far are (the built-in stores are).
class BLOBCACHE_EXPORT TieredStore final : public Store {
 public:
  // REQUIRES: near and far are not null and are different stores.
  // Throws Error(Errc::invalid_argument) otherwise.
  TieredStore(std::shared_ptr<Store> near, std::shared_ptr<Store> far);
  TieredStore(std::shared_ptr<Store> near, std::shared_ptr<Store> far, TieredOptions options);
  ~TieredStore() override;
  TieredStore(const TieredStore&) = delete;
  TieredStore& operator=(const TieredStore&) = delete;

  const std::shared_ptr<Store>& near() const noexcept;
  const std::shared_ptr<Store>& far() const noexcept;

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
  std::size_t do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) override;
  std::vector<Meta> do_put_many(std::span<const PutRequest> batch) override;
  std::vector<NamespaceInfo> do_namespaces() override;
  VerifyReport do_verify(const std::function<void(const VerifyProgress&)>& progress,
                         std::stop_token stop) override;
  Info do_describe() const override;
  void do_check() override;
  Stats do_stats() override;
  void do_reset_stats() override;
  bool do_try_acquire_lease(std::string_view ns, std::string_view key, std::string_view owner,
                            Duration ttl) override;
  void do_release_lease(std::string_view ns, std::string_view key, std::string_view owner) override;

 private:
  class BLOBCACHE_HIDDEN Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace blobcache
