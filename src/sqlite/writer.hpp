// Internal: every change SqliteStore makes to its file.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <span>
#include <stop_token>
#include <string_view>
#include <vector>

#include "blobcache/types.hpp"

#include "sqlite/database.hpp"

namespace blobcache::detail {

// The write side of a store. Thread-safe: each call leases its own
// connection; SQLite's write lock orders the transactions, across threads
// and processes.
//
// Every write runs through one path, transact(): BEGIN IMMEDIATE, the
// operation's statements, COMMIT, on a leased connection, with SQLite
// errors translated. Work that every write transaction must do (the duties
// of later features) is added there, once.
class Writer {
 public:
  explicit Writer(std::shared_ptr<Database> db) : db_(std::move(db)) {}

  // Store::put, put_many, put_stream, erase, erase_namespace,
  // erase_expired: the same contracts. Values are hashed before the write
  // lock is taken.
  Meta put(std::string_view ns, std::string_view key, BytesView value, const PutOptions& opts);
  std::vector<Meta> put_many(std::span<const PutRequest> batch);
  Meta put_stream(std::string_view ns, std::string_view key, std::istream& in,
                  const PutOptions& opts, const std::stop_token& stop);
  void erase(std::string_view ns, std::string_view key);
  void erase_namespace(std::string_view ns);
  std::size_t erase_expired(std::string_view ns, TimePoint now, Duration ttl);

  // Deletes staged put_streams whose process is gone. Best effort: a
  // failure leaves them for the next attempt.
  void reclaim_abandoned_staging() noexcept;

 private:
  // THE write path. Runs `body(connection)` inside one write transaction
  // and commits; `where` names the operation in errors (a Where, or a
  // callable giving one when the failure happens). Returns what `body`
  // returns. A failure rolls everything back.
  template <typename WhereOf, typename Body>
  auto transact(const WhereOf& where, Body&& body);

  // Deletes one staged put_stream. Best effort, never throws.
  void discard_staging(std::int64_t staging_id) noexcept;

  std::shared_ptr<Database> db_;
};

}  // namespace blobcache::detail
