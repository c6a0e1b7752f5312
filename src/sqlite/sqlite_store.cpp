// SqliteStore: the facade. Each operation goes to the store's Reader or
// Writer; the Database they share was opened by open.cpp.
#include "blobcache/sqlite_store.hpp"

#include "sqlite/database.hpp"
#include "sqlite/reader.hpp"
#include "sqlite/test_seams.hpp"
#include "sqlite/usage.hpp"
#include "sqlite/writer.hpp"

namespace blobcache {

class SqliteStore::Impl {
 public:
  explicit Impl(std::shared_ptr<detail::Database> opened)
      : db(std::move(opened)), reader(db), writer(db) {
    if (db->options().read_only) return;
    if (db->options().limits) writer.set_limits(*db->options().limits);
    writer.reclaim_abandoned_staging();
    db->maintenance()->set_duty([this] { writer.maintain(); }, db->tuning().flush_interval);
  }

  // What reads counted goes into the file before the store closes; the
  // Database may live on in BlobReaders, but nothing counts there anymore.
  ~Impl() {
    if (db->options().read_only) return;
    db->maintenance()->clear_duty();
    writer.flush_tallies();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::shared_ptr<detail::Database> db;
  detail::Reader reader;
  detail::Writer writer;
};

SqliteStore::SqliteStore(SqliteOptions options)
    : impl_(std::make_unique<Impl>(detail::Database::open(std::move(options), detail::Tuning{}))) {}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteStore::~SqliteStore() = default;

const std::filesystem::path& SqliteStore::path() const noexcept {
  return impl_->db->options().path;
}

std::optional<std::filesystem::path> SqliteStore::quarantined() const {
  return impl_->db->quarantined();
}

std::optional<Blob> SqliteStore::do_get(std::string_view ns, std::string_view key) {
  return impl_->reader.get(ns, key);
}

bool SqliteStore::do_get_into(std::string_view ns, std::string_view key, Blob& out) {
  return impl_->reader.get_into(ns, key, out);
}

Meta SqliteStore::do_put(std::string_view ns, std::string_view key, BytesView value,
                         const PutOptions& opts) {
  return impl_->writer.put(ns, key, value, opts);
}

std::vector<Meta> SqliteStore::do_put_many(std::span<const PutRequest> batch) {
  return impl_->writer.put_many(batch);
}

std::unique_ptr<BlobReader> SqliteStore::do_open(std::string_view ns, std::string_view key) {
  return impl_->reader.open(ns, key);
}

Meta SqliteStore::do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                                const PutOptions& opts, std::stop_token stop) {
  return impl_->writer.put_stream(ns, key, in, opts, stop);
}

void SqliteStore::do_erase(std::string_view ns, std::string_view key) {
  impl_->writer.erase(ns, key);
}

void SqliteStore::do_erase_namespace(std::string_view ns) { impl_->writer.erase_namespace(ns); }

std::vector<Object> SqliteStore::do_list(std::string_view ns) { return impl_->reader.list(ns); }

std::size_t SqliteStore::do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  return impl_->writer.erase_expired(ns, now, ttl);
}

std::vector<NamespaceInfo> SqliteStore::do_namespaces() { return impl_->reader.namespaces(); }

Info SqliteStore::do_describe() const {
  return Info{.backend = "sqlite",
              .root = impl_->db->options().path.string(),
              .supports_list = true,
              .supports_stream = true,
              .supports_delete_namespace = true,
              .supports_conditional_put = true,
              .details = {}};
}

void SqliteStore::do_check() { impl_->reader.check(); }

Limits SqliteStore::limits() const { return impl_->reader.limits(); }

void SqliteStore::set_limits(const Limits& limits) { impl_->writer.set_limits(limits); }

SqliteStore::TrimReport SqliteStore::trim() { return impl_->writer.trim(); }

SqliteStore::CompactReport SqliteStore::compact() { return impl_->writer.compact(); }

Stats SqliteStore::do_stats() { return impl_->reader.stats(); }

void SqliteStore::do_reset_stats() { impl_->writer.reset_stats(); }

bool SqliteStore::do_try_acquire_lease(std::string_view ns, std::string_view key,
                                       std::string_view owner, Duration ttl) {
  return impl_->writer.try_acquire_lease(ns, key, owner, ttl);
}

void SqliteStore::do_release_lease(std::string_view ns, std::string_view key,
                                   std::string_view owner) {
  impl_->writer.release_lease(ns, key, owner);
}

namespace detail {

std::unique_ptr<SqliteStore> SqliteStoreAccess::open(SqliteOptions options, const Tuning& tuning) {
  return std::unique_ptr<SqliteStore>(new SqliteStore(
      std::make_unique<SqliteStore::Impl>(Database::open(std::move(options), tuning))));
}

Probes& SqliteStoreAccess::probes(SqliteStore& store) noexcept { return store.impl_->db->probes(); }

CheckpointCounts SqliteStoreAccess::checkpoint_counts(const SqliteStore& store) noexcept {
  return store.impl_->db->checkpoint_counts();
}

const Tuning& SqliteStoreAccess::tuning(const SqliteStore& store) noexcept {
  return store.impl_->db->tuning();
}

std::string SqliteStoreAccess::usage_mismatch(SqliteStore& store) {
  Database& db = *store.impl_->db;
  const Where where = db.where("usage_mismatch");
  auto lease = db.lease(where);
  return translated(where, [&] {
    const Transaction snapshot(*lease, Transaction::Kind::read);
    return detail::usage_mismatch(*lease);
  });
}

void SqliteStoreAccess::maintain(SqliteStore& store) { store.impl_->writer.maintain(); }

std::string SqliteStoreAccess::pragma(SqliteStore& store, const std::string& name) {
  Database& db = *store.impl_->db;
  const Where where = db.where("pragma");
  auto lease = db.lease(where);
  return translated(where, [&] { return lease->db().execAndGet("PRAGMA " + name).getString(); });
}

std::size_t SqliteStoreAccess::queued_puts(const SqliteStore& store) {
  return store.impl_->writer.queued_puts();
}

}  // namespace detail
}  // namespace blobcache
