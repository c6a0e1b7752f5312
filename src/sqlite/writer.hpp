// Internal: every change SqliteStore makes to its file.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <span>
#include <stop_token>
#include <string_view>
#include <vector>

#include "blobcache/sqlite_store.hpp"
#include "blobcache/types.hpp"

#include "sqlite/database.hpp"
#include "sqlite/group_commit.hpp"
#include "sqlite/write_context.hpp"

namespace blobcache::detail {

// The write side of a store. Thread-safe: each call leases its own
// connection; SQLite's write lock orders the transactions, across threads
// and processes.
//
// Every write runs through one path, transact(): BEGIN IMMEDIATE; the
// operation's statements; the duties every write transaction does (the
// counts that reads gathered in memory, least_recently_used's accesses
// when it evicts, eviction to the limits, the usage rows); COMMIT. So the accounting, the
// bounds and the counters hold after every write, from any process.
class Writer {
 public:
  explicit Writer(std::shared_ptr<Database> db) : db_(std::move(db)) {}

  // Store::put, put_many, put_stream, erase, erase_namespace,
  // erase_expired: the same contracts. Values are hashed before the write
  // lock is taken. Puts of several threads at once share one transaction
  // (GroupCommit), each with its own outcome.
  Meta put(std::string_view ns, std::string_view key, BytesView value, const PutOptions& opts);
  std::vector<Meta> put_many(std::span<const PutRequest> batch);
  Meta put_stream(std::string_view ns, std::string_view key, std::istream& in,
                  const PutOptions& opts, const std::stop_token& stop);
  void erase(std::string_view ns, std::string_view key);
  void erase_namespace(std::string_view ns);
  std::size_t erase_expired(std::string_view ns, TimePoint now, Duration ttl);

  // SqliteStore::set_limits, trim, compact and reset_stats.
  void set_limits(const Limits& limits);
  SqliteStore::TrimReport trim();
  SqliteStore::CompactReport compact();
  void reset_stats();

  // Store::try_acquire_lease / release_lease: the leases table.
  bool try_acquire_lease(std::string_view ns, std::string_view key, std::string_view owner,
                         Duration ttl);
  void release_lease(std::string_view ns, std::string_view key, std::string_view owner);

  // The store's background duty: writes what reads counted, removes
  // expired leases, and evicts down to the low watermark when a write left
  // the store above the high one. Does nothing when nothing is due.
  // Throws Error.
  void maintain();
  // Writes what reads counted, if anything. Best effort, never throws (the
  // store's destructor).
  void flush_tallies() noexcept;

  // Deletes staged put_streams whose process is gone. Best effort: a
  // failure leaves them for the next attempt.
  void reclaim_abandoned_staging() noexcept;

  // Puts waiting to be committed with others (for tests).
  std::size_t queued_puts() const { return group_commit_.queued(); }

 private:
  // THE write path (see the class comment). Runs `body(context)` inside one
  // write transaction, then the duties, then commits; `where` names the
  // operation in errors (a Where, or a callable giving one when the failure
  // happens). Returns what `body` returns. Any failure rolls everything
  // back, and the counts it took from Tallies go back there.
  //
  // least_recently_used's accesses are written by a transaction that
  // evicts (after its body, before the eviction: the order then knows
  // every access this process saw) and, with Accesses::first, before the
  // body (the flushes and trims); the others write only the counters.
  enum class Accesses { when_evicting, first };
  template <typename WhereOf, typename Body>
  auto transact(const WhereOf& where, Body&& body, Accesses accesses = Accesses::when_evicting);

  // GroupCommit's batch: one put alone in its transaction; several in one
  // transaction, each in a savepoint of its own (a put that fails rolls back
  // alone), or each alone again when the shared transaction fails as a
  // whole (its commit, its eviction, an error that ended it).
  void commit_batch(std::span<GroupCommit::Job* const> batch) noexcept;

  // After a commit: lets the memory tier keep what the transaction wrote
  // (its values and erased keys), so that this process's gets after its
  // own puts are not reads of the file. `logged_through` is the sequence
  // number of the transaction's last change in the ChangeLog (0: none): the
  // tier keeps nothing that a later change may concern (MemoryTier::insert).
  // Moves each value's Meta into what the tier keeps.
  void keep_written(std::span<WriteContext::Written> written,
                    std::uint64_t logged_through) noexcept;

  // Evicts down to the low watermark in batches; what it removed.
  SqliteStore::TrimReport trim_to_low_watermark(std::string_view operation);

  // Deletes one staged put_stream of `owner` (while it is still staged).
  // Best effort, never throws.
  void discard_staging(std::int64_t staging_id, std::string_view owner) noexcept;

  std::shared_ptr<Database> db_;
  GroupCommit group_commit_;
};

}  // namespace blobcache::detail
