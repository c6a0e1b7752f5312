#include "blobcache/cache.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <unistd.h>
#include <utility>

#include "blobcache/error.hpp"

#include "errors.hpp"
#include "names_detail.hpp"
#include "single_flight.hpp"

namespace blobcache {
namespace {

// A token naming one get_or_fill call among every process of this boot:
// the pid, a count of this process's calls and 64 random bits. A forked
// child inherits the count and the forking thread's generator, so its pid
// is what keeps its tokens apart from its parent's.
std::string fill_owner() {
  static std::atomic<std::uint64_t> calls{0};
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::to_string(::getpid()) + "-" + std::to_string(calls.fetch_add(1)) + "-" +
         std::to_string(random());
}

// The pauses of a waiter that polls the store for another process's
// filler: 1 ms, doubling, at most 100 ms.
class Backoff {
 public:
  void pause() {
    std::this_thread::sleep_for(next_);
    next_ = std::min(next_ * 2, std::chrono::milliseconds(100));
  }

 private:
  std::chrono::milliseconds next_{1};
};

// Ends a lease however the filler leaves (a fill that throws anything).
class LeaseHolder {
 public:
  LeaseHolder(Store& store, std::string_view ns, std::string_view key, const std::string& owner)
      : store_(store), ns_(ns), key_(key), owner_(owner) {}
  ~LeaseHolder() {
    try {
      store_.release_lease(ns_, key_, owner_);
    } catch (...) {  // NOLINT(bugprone-empty-catch): it expires by itself
    }
  }
  LeaseHolder(const LeaseHolder&) = delete;
  LeaseHolder& operator=(const LeaseHolder&) = delete;

 private:
  Store& store_;
  std::string_view ns_;
  std::string_view key_;
  const std::string& owner_;
};

}  // namespace

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

Lookup Cache::get_or_fill(std::string_view key, const std::function<Fill()>& fill,
                          const FillOptions& opts) {
  Store& store = require_store("get_or_fill", key);
  if (opts.lease <= Duration::zero()) {
    detail::throw_error(Errc::invalid_argument, "get_or_fill \"" + ns_ + "\"/\"" +
                                                    std::string(key) +
                                                    "\": FillOptions::lease must be positive");
  }
  // One Lookup, named and returned on every path: a fresh hit is read
  // straight into it (no move of the Blob; see Store::get_into).
  Lookup found;
  if (!store.get_into(ns_, key, found.blob) || policy_.is_expired(found.blob.meta)) {
    found = fill_missing(store, key, fill, opts);
  }
  return found;
}

[[gnu::noinline]] Lookup Cache::fill_missing(Store& store, std::string_view key,
                                             const std::function<Fill()>& fill,
                                             const FillOptions& opts) const {
  return detail::flights().run(&store, ns_, key,
                               [&] { return fill_across_processes(store, key, fill, opts); });
}

Lookup Cache::fill_across_processes(Store& store, std::string_view key,
                                    const std::function<Fill()>& fill,
                                    const FillOptions& opts) const {
  const std::string owner = fill_owner();
  Backoff backoff;
  for (;;) {
    // Filled by someone else since (another thread's flight, another
    // process)? Then that is the answer.
    std::optional<Blob> current = store.get(ns_, key);
    if (current && !policy_.is_expired(current->meta)) {
      return {.blob = std::move(*current), .fresh = true, .filled = false};
    }
    if (!store.try_acquire_lease(ns_, key, owner, opts.lease)) {
      backoff.pause();  // another process fills: wait for its value or its lease to end
      continue;
    }
    const LeaseHolder lease(store, ns_, key, owner);
    // Read again under the lease: a filler may have finished in between.
    current = store.get(ns_, key);
    if (current && !policy_.is_expired(current->meta)) {
      return {.blob = std::move(*current), .fresh = true, .filled = false};
    }
    Fill made;
    try {
      made = fill();
    } catch (...) {
      if (current && opts.stale_if_error) {
        return {.blob = std::move(*current), .fresh = false, .filled = false};
      }
      throw;  // the lease ends with `lease`
    }
    PutOptions put_options = std::move(made.opts);
    if (!put_options.if_match) put_options.if_match = current ? current->meta.etag : std::string();
    try {
      Meta meta = store.put(ns_, key, made.data, put_options);
      return {.blob = {.data = std::move(made.data), .meta = std::move(meta)},
              .fresh = true,
              .filled = true};
    } catch (const Error& e) {
      if (e.errc() != Errc::precondition_failed) throw;
    }
    // Someone wrote a newer value meanwhile: it wins, and is returned.
    if (std::optional<Blob> newer = store.get(ns_, key)) {
      const bool fresh = !policy_.is_expired(newer->meta);
      return {.blob = std::move(*newer), .fresh = fresh, .filled = false};
    }
    // ... and was erased again since: fill once more.
  }
}

}  // namespace blobcache
