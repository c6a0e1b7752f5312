#include "blobcache/memory_store.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "blobcache/error.hpp"
#include "blobcache/policy.hpp"

#include "errors.hpp"
#include "read_counting.hpp"
#include "sha256.hpp"
#include "stream_read.hpp"

namespace blobcache {
namespace {

struct Record {
  std::shared_ptr<const Bytes> data;  // shared with open readers
  Meta meta;
};

using Namespace = std::map<std::string, Record, std::less<>>;

class SharedBytesReader final : public BlobReader {
 public:
  SharedBytesReader(std::shared_ptr<const Bytes> data, Meta meta)
      : data_(std::move(data)), meta_(std::move(meta)) {}

  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = std::min(out.size(), data_->size() - position_);
    std::copy_n(data_->begin() + static_cast<std::ptrdiff_t>(position_), n, out.begin());
    position_ += n;
    return n;
  }

  const Meta& meta() const noexcept override { return meta_; }

 private:
  std::shared_ptr<const Bytes> data_;
  Meta meta_;
  std::size_t position_ = 0;
};

}  // namespace

// The counters of one namespace (Stats); the entries and bytes come from
// the data itself.
struct Counters {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t expirations = 0;
};

struct MemoryStore::State {
  std::string root;
  std::shared_ptr<const Clock> clock;
  mutable std::shared_mutex mutex;
  std::map<std::string, Namespace, std::less<>> spaces;  // GUARDED_BY(mutex)
  // Separate from `mutex`: gets hold that one shared, yet count here.
  std::mutex counters_mutex;
  std::map<std::string, Counters, std::less<>> counters;  // GUARDED_BY(counters_mutex)

  void count(std::string_view ns, std::uint64_t Counters::*counter, std::uint64_t n = 1) {
    if (counter != &Counters::expirations && detail::UncountedReads::active()) return;
    const std::lock_guard lock(counters_mutex);
    auto it = counters.find(ns);
    if (it == counters.end()) it = counters.emplace(std::string(ns), Counters{}).first;
    it->second.*counter += n;
  }

  // REQUIRES: mutex held (shared or exclusive). Throws
  // Error(Errc::precondition_failed) when `opts.if_match` does not hold.
  void check_condition(std::string_view operation, std::string_view ns, std::string_view key,
                       const PutOptions& opts) const {
    if (!opts.if_match) return;
    const Record* current = find(ns, key);
    const bool holds = opts.if_match->empty()
                           ? current == nullptr
                           : current != nullptr && current->meta.etag == *opts.if_match;
    if (holds) return;
    detail::throw_error(
        Errc::precondition_failed,
        std::string(operation) + " \"" + std::string(ns) + "\"/\"" + std::string(key) + "\": " +
            (opts.if_match->empty() ? std::string("an entry exists (if_match \"\" asks for none)")
             : current == nullptr
                 ? std::string("no entry exists (if_match names etag ") + *opts.if_match + ")"
                 : "its etag is " + current->meta.etag + ", not " + *opts.if_match) +
            "; nothing written");
  }

  Meta make_meta(std::int64_t size, std::string etag, const PutOptions& opts) const {
    return Meta{.size = size,
                .updated_at = clock->now(),
                .expires_at = opts.expires_at,
                .etag = std::move(etag),
                .content_type = opts.content_type,
                .metadata = opts.metadata};
  }

  // REQUIRES: mutex held exclusively.
  void store(std::string_view ns, std::string_view key, Record record) {
    auto space = spaces.find(ns);
    if (space == spaces.end()) space = spaces.emplace(std::string(ns), Namespace{}).first;
    space->second.insert_or_assign(std::string(key), std::move(record));
  }

  // REQUIRES: mutex held (shared or exclusive).
  const Record* find(std::string_view ns, std::string_view key) const {
    const auto space = spaces.find(ns);
    if (space == spaces.end()) return nullptr;
    const auto entry = space->second.find(key);
    return entry == space->second.end() ? nullptr : &entry->second;
  }
};

MemoryStore::MemoryStore(std::string root, std::shared_ptr<const Clock> clock)
    : state_(std::make_unique<State>()) {
  state_->root = std::move(root);
  state_->clock = clock ? std::move(clock) : system_clock();
}

MemoryStore::~MemoryStore() = default;

std::optional<Blob> MemoryStore::do_get(std::string_view ns, std::string_view key) {
  std::optional<Blob> blob;
  {
    const std::shared_lock lock(state_->mutex);
    if (const Record* record = state_->find(ns, key)) blob = Blob{*record->data, record->meta};
  }
  state_->count(ns, blob ? &Counters::hits : &Counters::misses);
  return blob;
}

Meta MemoryStore::do_put(std::string_view ns, std::string_view key, BytesView value,
                         const PutOptions& opts) {
  auto data = std::make_shared<const Bytes>(value.begin(), value.end());
  Meta meta = state_->make_meta(static_cast<std::int64_t>(value.size()),
                                detail::Sha256::hex_of(value), opts);
  const std::unique_lock lock(state_->mutex);
  state_->check_condition("put", ns, key, opts);
  state_->store(ns, key, {std::move(data), meta});
  return meta;
}

std::vector<Meta> MemoryStore::do_put_many(std::span<const PutRequest> batch) {
  std::vector<Record> records;
  records.reserve(batch.size());
  for (const PutRequest& request : batch) {
    records.push_back({std::make_shared<const Bytes>(request.value.begin(), request.value.end()),
                       state_->make_meta(static_cast<std::int64_t>(request.value.size()),
                                         detail::Sha256::hex_of(request.value), request.options)});
  }
  std::vector<Meta> metas;
  metas.reserve(batch.size());
  const std::unique_lock lock(state_->mutex);
  // All conditions first: any that fails fails the whole batch. A batch
  // naming one key twice sees its own earlier request, like a transaction.
  {
    std::map<std::pair<std::string_view, std::string_view>, const Meta*> pending;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const PutRequest& request = batch[i];
      if (request.options.if_match) {
        const auto earlier = pending.find({request.ns, request.key});
        if (earlier == pending.end()) {
          state_->check_condition("put_many (nothing stored), at", request.ns, request.key,
                                  request.options);
        } else if (*request.options.if_match != earlier->second->etag) {
          detail::throw_error(Errc::precondition_failed,
                              "put_many (nothing stored), at \"" + std::string(request.ns) +
                                  "\"/\"" + std::string(request.key) +
                                  "\": an earlier request of the batch changed its etag to " +
                                  earlier->second->etag);
        }
      }
      pending[{request.ns, request.key}] = &records[i].meta;
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    metas.push_back(records[i].meta);
    state_->store(batch[i].ns, batch[i].key, std::move(records[i]));
  }
  return metas;
}

std::unique_ptr<BlobReader> MemoryStore::do_open(std::string_view ns, std::string_view key) {
  std::unique_ptr<BlobReader> reader;
  {
    const std::shared_lock lock(state_->mutex);
    if (const Record* record = state_->find(ns, key)) {
      reader = std::make_unique<SharedBytesReader>(record->data, record->meta);
    }
  }
  state_->count(ns, reader ? &Counters::hits : &Counters::misses);
  return reader;
}

Meta MemoryStore::do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                                const PutOptions& opts, std::stop_token stop) {
  auto data = std::make_shared<Bytes>();
  detail::Sha256 hash;
  std::array<std::byte, 64 * 1024> buffer{};
  while (true) {
    if (stop.stop_requested()) {
      detail::throw_error(Errc::cancelled, "put_stream \"" + std::string(ns) + "\"/\"" +
                                               std::string(key) + "\": cancelled");
    }
    const std::size_t n = detail::read_chunk(in, buffer, "put_stream");
    if (n == 0) break;
    const BytesView chunk(buffer.data(), n);
    hash.update(chunk);
    data->insert(data->end(), chunk.begin(), chunk.end());
    if (n < buffer.size()) break;
  }
  Meta meta = state_->make_meta(static_cast<std::int64_t>(data->size()), hash.finish_hex(), opts);
  const std::unique_lock lock(state_->mutex);
  state_->check_condition("put_stream", ns, key, opts);
  state_->store(ns, key, {std::move(data), meta});
  return meta;
}

void MemoryStore::do_erase(std::string_view ns, std::string_view key) {
  const std::unique_lock lock(state_->mutex);
  const auto space = state_->spaces.find(ns);
  if (space == state_->spaces.end()) return;
  if (const auto entry = space->second.find(key); entry != space->second.end()) {
    space->second.erase(entry);
  }
  if (space->second.empty()) state_->spaces.erase(space);
}

void MemoryStore::do_erase_namespace(std::string_view ns) {
  const std::unique_lock lock(state_->mutex);
  if (const auto space = state_->spaces.find(ns); space != state_->spaces.end()) {
    state_->spaces.erase(space);
  }
}

std::vector<Object> MemoryStore::do_list(std::string_view ns) {
  std::vector<Object> objects;
  const std::shared_lock lock(state_->mutex);
  const auto space = state_->spaces.find(ns);
  if (space == state_->spaces.end()) return objects;
  objects.reserve(space->second.size());
  for (const auto& [key, record] : space->second) objects.push_back({key, record.meta});
  return objects;
}

std::size_t MemoryStore::do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  const Policy policy{.ttl = ttl};
  std::size_t erased = 0;
  {
    const std::unique_lock lock(state_->mutex);
    const auto space = state_->spaces.find(ns);
    if (space == state_->spaces.end()) return 0;
    for (auto entry = space->second.begin(); entry != space->second.end();) {
      if (policy.is_expired_at(entry->second.meta, now)) {
        entry = space->second.erase(entry);
        ++erased;
      } else {
        ++entry;
      }
    }
    if (space->second.empty()) state_->spaces.erase(space);
  }
  if (erased != 0) state_->count(ns, &Counters::expirations, erased);
  return erased;
}

Stats MemoryStore::do_stats() {
  Stats stats;
  std::map<std::string, NamespaceStats, std::less<>> spaces;
  {
    const std::shared_lock lock(state_->mutex);
    for (const auto& [name, entries] : state_->spaces) {
      NamespaceStats& space = spaces[name];
      space.entries = static_cast<std::int64_t>(entries.size());
      for (const auto& [key, record] : entries) space.bytes += record.meta.size;
    }
  }
  {
    const std::lock_guard lock(state_->counters_mutex);
    for (const auto& [name, counters] : state_->counters) {
      NamespaceStats& space = spaces[name];
      space.hits = counters.hits;
      space.misses = counters.misses;
      space.expirations = counters.expirations;
    }
  }
  for (auto& [name, space] : spaces) {
    space.ns = name;
    stats.entries += space.entries;
    stats.bytes += space.bytes;
    stats.hits += space.hits;
    stats.misses += space.misses;
    stats.expirations += space.expirations;
    stats.namespaces.push_back(std::move(space));
  }
  return stats;
}

void MemoryStore::do_reset_stats() {
  const std::lock_guard lock(state_->counters_mutex);
  state_->counters.clear();
}

std::vector<NamespaceInfo> MemoryStore::do_namespaces() {
  std::vector<NamespaceInfo> spaces;
  const std::shared_lock lock(state_->mutex);
  for (const auto& [name, entries] : state_->spaces) {
    NamespaceInfo info{
        .name = name, .entries = static_cast<std::int64_t>(entries.size()), .bytes = 0};
    for (const auto& [key, record] : entries) info.bytes += record.meta.size;
    spaces.push_back(std::move(info));
  }
  return spaces;
}

Info MemoryStore::do_describe() const {
  return Info{.backend = "memory",
              .root = state_->root,
              .supports_list = true,
              .supports_stream = true,
              .supports_delete_namespace = true,
              .supports_conditional_put = true,
              .details = {}};
}

}  // namespace blobcache
