// A Store that forwards every call to another and counts them: lets a test
// see whether a TieredStore reached its far store at all (instrumentation,
// not a fake: the calls it forwards reach the real store).
#pragma once

#include <atomic>
#include <memory>

#include "blobcache/store.hpp"

namespace blobcache::test {

class CountingStore final : public Store {
 public:
  explicit CountingStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}
  int calls() const noexcept { return calls_.load(); }

 protected:
  std::optional<Blob> do_get(std::string_view ns, std::string_view key) override {
    return counted().get(ns, key);
  }
  Meta do_put(std::string_view ns, std::string_view key, BytesView value,
              const PutOptions& opts) override {
    return counted().put(ns, key, value, opts);
  }
  std::unique_ptr<BlobReader> do_open(std::string_view ns, std::string_view key) override {
    return counted().open(ns, key);
  }
  Meta do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                     const PutOptions& opts, std::stop_token stop) override {
    return counted().put_stream(ns, key, in, opts, std::move(stop));
  }
  void do_erase(std::string_view ns, std::string_view key) override { counted().erase(ns, key); }
  void do_erase_namespace(std::string_view ns) override { counted().erase_namespace(ns); }
  std::vector<Object> do_list(std::string_view ns) override { return counted().list(ns); }
  std::size_t do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) override {
    return counted().erase_expired(ns, now, ttl);
  }
  std::vector<Meta> do_put_many(std::span<const PutRequest> batch) override {
    return counted().put_many(batch);
  }
  std::vector<NamespaceInfo> do_namespaces() override { return counted().namespaces(); }
  Info do_describe() const override { return inner_->describe(); }
  void do_check() override { counted().check(); }
  Stats do_stats() override { return counted().stats(); }
  void do_reset_stats() override { counted().reset_stats(); }
  bool do_try_acquire_lease(std::string_view ns, std::string_view key, std::string_view owner,
                            Duration ttl) override {
    return counted().try_acquire_lease(ns, key, owner, ttl);
  }
  void do_release_lease(std::string_view ns, std::string_view key,
                        std::string_view owner) override {
    counted().release_lease(ns, key, owner);
  }

 private:
  Store& counted() {
    ++calls_;
    return *inner_;
  }

  std::shared_ptr<Store> inner_;
  std::atomic<int> calls_{0};
};

}  // namespace blobcache::test
