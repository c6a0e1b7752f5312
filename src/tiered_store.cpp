#include "blobcache/tiered_store.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <istream>
#include <map>
#include <mutex>
#include <streambuf>

#include "blobcache/error.hpp"

#include "errors.hpp"
#include "read_counting.hpp"
#include "stream_read.hpp"

namespace blobcache {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Where near keeps far's updated_at (decimal nanoseconds). NUL first: no
// application names its metadata so.
const std::string kFarUpdatedAt("\0blobcache.far_updated_at", 25);

// How near stores a copy of a value far returned `far_meta` for.
PutOptions near_options(const Meta& far_meta) {
  PutOptions copy{.content_type = far_meta.content_type,
                  .expires_at = far_meta.expires_at,
                  .metadata = far_meta.metadata,
                  .if_match = std::nullopt};
  copy.metadata[kFarUpdatedAt] = std::to_string(far_meta.updated_at.time_since_epoch().count());
  return copy;
}

// The Meta far returned for a value near copied: far's updated_at back in
// place, the reserved name gone. Entries near wrote alone keep their own.
Meta restored(Meta meta) {
  const auto it = meta.metadata.find(kFarUpdatedAt);
  if (it == meta.metadata.end()) return meta;
  TimePoint::rep nanos = 0;
  const std::string& text = it->second;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), nanos);
  if (error == std::errc() && end == text.data() + text.size()) {
    meta.updated_at = TimePoint(TimePoint::duration(nanos));
  }
  meta.metadata.erase(it);
  return meta;
}

// A near reader seen with its restored Meta.
class RestoredReader final : public BlobReader {
 public:
  explicit RestoredReader(std::unique_ptr<BlobReader> inner)
      : inner_(std::move(inner)), meta_(restored(inner_->meta())) {}
  std::size_t read(std::span<std::byte> out) override { return inner_->read(out); }
  const Meta& meta() const noexcept override { return meta_; }

 private:
  std::unique_ptr<BlobReader> inner_;
  Meta meta_;
};

// An istream's buffer over a BlobReader (copying far's value into near).
class ReaderBuffer final : public std::streambuf {
 public:
  explicit ReaderBuffer(BlobReader& reader) : reader_(reader) {}

 protected:
  int_type underflow() override {
    const std::size_t n = reader_.read(std::as_writable_bytes(std::span(buffer_)));
    if (n == 0) return traits_type::eof();
    setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  BlobReader& reader_;
  std::array<char, 64 * 1024> buffer_{};
};

// Passes an istream through, counting what was taken from it, so a put
// that failed before reading anything can be given the stream again.
class CountingBuffer final : public std::streambuf {
 public:
  explicit CountingBuffer(std::istream& in) : in_(in) {}
  std::size_t taken() const noexcept { return taken_; }

 protected:
  int_type underflow() override {
    // The caller's stream's state shows through (a stream that failed before
    // it was read is a failure, not an empty value).
    if (detail::has_failed(in_)) throw std::ios_base::failure("the input stream has failed");
    in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    const auto n = static_cast<std::size_t>(in_.gcount());
    if (detail::has_failed(in_)) throw std::ios_base::failure("the input stream failed");
    if (n == 0) return traits_type::eof();
    taken_ += n;
    setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  std::istream& in_;
  std::array<char, 64 * 1024> buffer_{};
  std::size_t taken_ = 0;
};

}  // namespace

class TieredStore::Impl {
 public:
  Impl(std::shared_ptr<Store> near_store, std::shared_ptr<Store> far_store, TieredOptions opts)
      : near(std::move(near_store)), far(std::move(far_store)), options(opts) {}

  // Runs `call` on far unless far cools down after a failure. nullopt when
  // it was skipped or failed with Errc::unavailable (recorded); every
  // other error reaches the caller.
  template <typename Call>
  auto on_far(Call&& call) -> std::optional<decltype(call())> {
    if (cooling()) {
      ++far_failures;
      return std::nullopt;
    }
    try {
      auto result = call();
      if (far_down.load()) mark_up();
      return result;
    } catch (const Error& e) {
      if (e.errc() != Errc::unavailable) throw;
      mark_down(e.what());
      ++far_failures;
      return std::nullopt;
    }
  }

  // Near is a cache of far: a copy that fails is dropped (and an older one
  // erased, so it is never served), never reported.
  void copy_to_near(std::string_view ns, std::string_view key, BytesView value, const Meta& meta) {
    try {
      near->put(ns, key, value, near_options(meta));
    } catch (const Error&) {
      forget_in_near(ns, key);
    }
  }

  void forget_in_near(std::string_view ns, std::string_view key) noexcept {
    try {
      near->erase(ns, key);
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing more can be done
    }
  }

  void count(std::string_view ns, bool hit) {
    if (detail::UncountedReads::active()) return;  // verify()'s reads are not lookups
    const std::lock_guard lock(counters_mutex);
    auto it = counters.find(ns);
    if (it == counters.end()) it = counters.emplace(std::string(ns), Hits{}).first;
    ++(hit ? it->second.hits : it->second.misses);
  }

  std::string far_state() const {
    const std::lock_guard lock(state_mutex);
    if (!far_down.load()) return "available";
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(skip_until - SteadyClock::now());
    return "unavailable (" +
           (left.count() > 0 ? "skipped for " + std::to_string(left.count()) + " ms more"
                             : std::string("tried again on the next call")) +
           "): " + last_failure;
  }

  struct Hits {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };

  const std::shared_ptr<Store> near;
  const std::shared_ptr<Store> far;
  const TieredOptions options;
  std::atomic<std::uint64_t> far_failures{0};
  std::atomic<bool> far_down{false};
  mutable std::mutex state_mutex;
  SteadyClock::time_point skip_until;  // GUARDED_BY(state_mutex)
  std::string last_failure;            // GUARDED_BY(state_mutex)
  std::mutex counters_mutex;
  std::map<std::string, Hits, std::less<>> counters;  // GUARDED_BY(counters_mutex)

 private:
  bool cooling() const {
    if (!far_down.load()) return false;
    const std::lock_guard lock(state_mutex);
    return SteadyClock::now() < skip_until;
  }

  void mark_down(std::string cause) {
    const std::lock_guard lock(state_mutex);
    far_down = true;
    skip_until = SteadyClock::now() + options.cooldown;
    last_failure = std::move(cause);
  }

  void mark_up() {
    const std::lock_guard lock(state_mutex);
    far_down = false;
    last_failure.clear();
  }
};

TieredStore::TieredStore(std::shared_ptr<Store> near, std::shared_ptr<Store> far)
    : TieredStore(std::move(near), std::move(far), TieredOptions{}) {}

TieredStore::TieredStore(std::shared_ptr<Store> near, std::shared_ptr<Store> far,
                         TieredOptions options) {
  if (!near || !far || near == far) {
    detail::throw_error(Errc::invalid_argument,
                        "TieredStore: near and far must be two stores (neither null)");
  }
  impl_ = std::make_unique<Impl>(std::move(near), std::move(far), options);
}

TieredStore::~TieredStore() = default;

const std::shared_ptr<Store>& TieredStore::near() const noexcept { return impl_->near; }

const std::shared_ptr<Store>& TieredStore::far() const noexcept { return impl_->far; }

std::optional<Blob> TieredStore::do_get(std::string_view ns, std::string_view key) {
  if (auto blob = impl_->near->get(ns, key)) {
    blob->meta = restored(std::move(blob->meta));
    impl_->count(ns, true);
    return blob;
  }
  auto far = impl_->on_far([&] { return impl_->far->get(ns, key); });
  if (far && *far) {
    impl_->copy_to_near(ns, key, (*far)->data, (*far)->meta);
    impl_->count(ns, true);
    return std::move(*far);
  }
  impl_->count(ns, false);
  return std::nullopt;
}

std::unique_ptr<BlobReader> TieredStore::do_open(std::string_view ns, std::string_view key) {
  if (auto reader = impl_->near->open(ns, key)) {
    impl_->count(ns, true);
    return std::make_unique<RestoredReader>(std::move(reader));
  }
  auto far = impl_->on_far([&] { return impl_->far->open(ns, key); });
  if (!far || !*far) {
    impl_->count(ns, false);
    return nullptr;
  }
  impl_->count(ns, true);
  // Copied whole into near first, then read from there: the caller's
  // reads then cost no round trips.
  try {
    ReaderBuffer buffer(**far);
    std::istream in(&buffer);
    impl_->near->put_stream(ns, key, in, near_options((*far)->meta()));
  } catch (const Error&) {
    impl_->forget_in_near(ns, key);
    auto again = impl_->on_far([&] { return impl_->far->open(ns, key); });
    return again ? std::move(*again) : nullptr;
  }
  if (auto reader = impl_->near->open(ns, key)) {
    return std::make_unique<RestoredReader>(std::move(reader));
  }
  auto again = impl_->on_far([&] { return impl_->far->open(ns, key); });  // near lost it already
  return again ? std::move(*again) : nullptr;
}

Meta TieredStore::do_put(std::string_view ns, std::string_view key, BytesView value,
                         const PutOptions& opts) {
  if (auto meta = impl_->on_far([&] { return impl_->far->put(ns, key, value, opts); })) {
    impl_->copy_to_near(ns, key, value, *meta);
    return *meta;
  }
  return impl_->near->put(ns, key, value, opts);
}

std::vector<Meta> TieredStore::do_put_many(std::span<const PutRequest> batch) {
  auto metas = impl_->on_far([&] { return impl_->far->put_many(batch); });
  if (!metas) return impl_->near->put_many(batch);
  std::vector<PutRequest> copies(batch.begin(), batch.end());
  for (std::size_t i = 0; i < copies.size(); ++i) {
    copies[i].options = near_options((*metas)[i]);
  }
  try {
    impl_->near->put_many(copies);
  } catch (const Error&) {
    for (const PutRequest& request : batch) impl_->forget_in_near(request.ns, request.key);
  }
  return std::move(*metas);
}

Meta TieredStore::do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                                const PutOptions& opts, std::stop_token stop) {
  CountingBuffer counted(in);
  std::istream through(&counted);
  std::size_t taken = 0;
  auto meta = impl_->on_far([&] {
    try {
      return impl_->far->put_stream(ns, key, through, opts, stop);
    } catch (const Error&) {
      taken = counted.taken();
      throw;
    }
  });
  if (meta) {
    // The stream cannot be read twice: near forgets its old copy, and the
    // next get or open copies the new value in.
    impl_->forget_in_near(ns, key);
    return *meta;
  }
  if (taken != 0) {
    detail::throw_error(Errc::unavailable, detail::describe_entry("put_stream", ns, key) +
                                               ": the far store became unavailable after " +
                                               std::to_string(taken) +
                                               " bytes of the stream were read; nothing written");
  }
  return impl_->near->put_stream(ns, key, in, opts, std::move(stop));
}

void TieredStore::do_erase(std::string_view ns, std::string_view key) {
  impl_->on_far([&] {
    impl_->far->erase(ns, key);
    return true;
  });
  impl_->near->erase(ns, key);
}

void TieredStore::do_erase_namespace(std::string_view ns) {
  impl_->on_far([&] {
    impl_->far->erase_namespace(ns);
    return true;
  });
  impl_->near->erase_namespace(ns);
}

std::vector<Object> TieredStore::do_list(std::string_view ns) {
  if (auto objects = impl_->on_far([&] { return impl_->far->list(ns); }))
    return std::move(*objects);
  std::vector<Object> objects = impl_->near->list(ns);
  for (Object& object : objects) object.meta = restored(std::move(object.meta));
  return objects;
}

std::size_t TieredStore::do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  const auto far = impl_->on_far([&] { return impl_->far->erase_expired(ns, now, ttl); });
  const std::size_t near = impl_->near->erase_expired(ns, now, ttl);
  return far ? *far : near;
}

std::vector<NamespaceInfo> TieredStore::do_namespaces() {
  if (auto spaces = impl_->on_far([&] { return impl_->far->namespaces(); }))
    return std::move(*spaces);
  return impl_->near->namespaces();
}

VerifyReport TieredStore::do_verify(const std::function<void(const VerifyProgress&)>& progress,
                                    std::stop_token stop) {
  if (auto report = impl_->on_far([&] { return impl_->far->verify(progress, stop); })) {
    return std::move(*report);
  }
  return impl_->near->verify(progress, std::move(stop));
}

Info TieredStore::do_describe() const {
  const Info near = impl_->near->describe();
  const Info far = impl_->far->describe();
  Info info{
      .backend = "tiered",
      .root = near.root + " -> " + far.root,
      .supports_list = near.supports_list && far.supports_list,
      .supports_stream = near.supports_stream && far.supports_stream,
      .supports_delete_namespace = near.supports_delete_namespace && far.supports_delete_namespace,
      .supports_conditional_put = near.supports_conditional_put && far.supports_conditional_put,
      .details = {}};
  info.details["near"] = near.backend + " " + near.root;
  info.details["far"] = impl_->far_state();
  info.details["far_store"] = far.backend + " " + far.root;
  info.details["far_failures"] = std::to_string(impl_->far_failures.load());
  for (const auto& [name, value] : far.details) info.details["far." + name] = value;
  for (const auto& [name, value] : near.details) info.details["near." + name] = value;
  return info;
}

void TieredStore::do_check() {
  impl_->near->check();
  impl_->on_far([&] {
    impl_->far->check();
    return true;
  });
}

Stats TieredStore::do_stats() {
  auto far = impl_->on_far([&] { return impl_->far->stats(); });
  Stats stats = far ? std::move(*far) : impl_->near->stats();
  std::map<std::string, NamespaceStats, std::less<>> spaces;
  for (NamespaceStats& space : stats.namespaces) {
    space.hits = 0;
    space.misses = 0;
    spaces.emplace(space.ns, std::move(space));
  }
  {
    const std::lock_guard lock(impl_->counters_mutex);
    for (const auto& [ns, hits] : impl_->counters) {
      NamespaceStats& space = spaces[ns];
      space.ns = ns;
      space.hits = hits.hits;
      space.misses = hits.misses;
    }
  }
  stats.hits = 0;
  stats.misses = 0;
  stats.namespaces.clear();
  for (auto& [ns, space] : spaces) {
    stats.hits += space.hits;
    stats.misses += space.misses;
    stats.namespaces.push_back(std::move(space));
  }
  stats.far_failures = impl_->far_failures.load();
  return stats;
}

void TieredStore::do_reset_stats() {
  {
    const std::lock_guard lock(impl_->counters_mutex);
    impl_->counters.clear();
  }
  impl_->far_failures = 0;
  impl_->on_far([&] {
    impl_->far->reset_stats();
    return true;
  });
  impl_->near->reset_stats();
}

bool TieredStore::do_try_acquire_lease(std::string_view ns, std::string_view key,
                                       std::string_view owner, Duration ttl) {
  if (auto held =
          impl_->on_far([&] { return impl_->far->try_acquire_lease(ns, key, owner, ttl); })) {
    return *held;
  }
  return impl_->near->try_acquire_lease(ns, key, owner, ttl);
}

void TieredStore::do_release_lease(std::string_view ns, std::string_view key,
                                   std::string_view owner) {
  impl_->on_far([&] {
    impl_->far->release_lease(ns, key, owner);
    return true;
  });
  impl_->near->release_lease(ns, key, owner);
}

}  // namespace blobcache
