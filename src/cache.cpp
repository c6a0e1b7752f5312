#include "blobcache/cache.hpp"

#include <utility>

#include "blobcache/error.hpp"

#include "errors.hpp"
#include "names_detail.hpp"

namespace blobcache {

Cache::Cache(std::shared_ptr<Store> store, std::string ns, Duration ttl)
    : Cache(std::move(store), std::move(ns), Policy{.ttl = ttl}) {}

Cache::Cache(std::shared_ptr<Store> store, std::string ns, Policy policy)
    : store_(std::move(store)), ns_(std::move(ns)), policy_(std::move(policy)) {
  if (store_) detail::validate_names("Cache", ns_);
}

std::string Cache::dir() const { return describe(store_.get(), "").root; }

Duration Cache::ttl() const { return policy_.ttl; }

const std::string& Cache::ns() const noexcept { return ns_; }

const Policy& Cache::policy() const noexcept { return policy_; }

const std::shared_ptr<Store>& Cache::store() const noexcept { return store_; }

Store& Cache::require_store(std::string_view operation, std::string_view key) const {
  if (!store_) {
    detail::throw_error(Errc::store_not_configured, std::string(operation) + " \"" + ns_ + "\"/\"" +
                                                        std::string(key) +
                                                        "\": the cache has no store");
  }
  return *store_;
}

std::optional<Blob> Cache::get(std::string_view key) const {
  return require_store("get", key).get(ns_, key);
}

std::optional<Blob> Cache::get_fresh(std::string_view key) const {
  std::optional<Blob> blob = require_store("get_fresh", key).get(ns_, key);
  if (blob && policy_.is_expired(blob->meta)) return std::nullopt;
  return blob;
}

Blob Cache::at(std::string_view key) const {
  std::optional<Blob> blob = require_store("at", key).get(ns_, key);
  if (!blob) {
    detail::throw_error(Errc::entry_not_found,
                        "at \"" + ns_ + "\"/\"" + std::string(key) + "\": no such entry");
  }
  return std::move(*blob);
}

std::unique_ptr<BlobReader> Cache::open(std::string_view key) const {
  return require_store("open", key).open(ns_, key);
}

Meta Cache::put(std::string_view key, BytesView value, const PutOptions& opts) {
  return require_store("put", key).put(ns_, key, value, opts);
}

Meta Cache::put(std::string_view key, std::string_view text, const PutOptions& opts) {
  return put(key, as_bytes(text), opts);
}

Meta Cache::put_stream(std::string_view key, std::istream& in, const PutOptions& opts,
                       std::stop_token stop) {
  return require_store("put_stream", key).put_stream(ns_, key, in, opts, std::move(stop));
}

void Cache::erase(std::string_view key) {
  if (store_) store_->erase(ns_, key);
}

void Cache::erase_namespace() {
  if (store_) store_->erase_namespace(ns_);
}

std::vector<Entry> Cache::list() const {
  std::vector<Entry> entries;
  if (!store_) return entries;
  const TimePoint now = policy_.now();
  for (Object& object : store_->list(ns_)) {
    const Duration age = policy_.age_at(object.meta, now);
    const Duration expires_in = policy_.expires_in_at(object.meta, now);
    entries.push_back({std::move(object.key), std::move(object.meta), age, expires_in});
  }
  return entries;
}

std::size_t Cache::clean_expired() {
  if (!store_) return 0;
  return store_->erase_expired(ns_, policy_.now(), policy_.ttl);
}

}  // namespace blobcache
