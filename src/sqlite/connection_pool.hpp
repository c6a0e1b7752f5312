// Internal: the connections of one store, leased to one call at a time.
#pragma once

#include <memory>
#include <mutex>
#include <sys/types.h>
#include <vector>

#include "per_process.hpp"
#include "sqlite/connection.hpp"

namespace blobcache::detail {

// Thread-safe. WAL lets readers run beside a writer, so each call leases its
// own connection instead of queueing on one; the lock guards only the free
// list. After fork() the child never touches the parent's connections: it
// leaks them (closing would break the parent's locks) and opens new ones.
class ConnectionPool {
 public:
  class Lease;

  explicit ConnectionPool(ConnectionConfig config);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // An idle connection, or a new one. Throws SQLite::Exception when opening
  // fails.
  Lease acquire();
  // Adds a connection opened elsewhere (by the store's open sequence).
  void adopt(std::unique_ptr<Connection> connection);

  const ConnectionConfig& config() const noexcept { return config_; }

 private:
  void give_back(std::unique_ptr<Connection> connection) noexcept;
  // REQUIRES: mutex_ held. Drops the parent's connections in a forked child.
  void forget_if_forked();

  const ConnectionConfig config_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mutex_)
  pid_t pid_;                                      // GUARDED_BY(mutex_)
};

// A connection on loan; returned to its pool on destruction. Movable.
class ConnectionPool::Lease {
 public:
  Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection) noexcept
      : pool_(&pool), connection_(std::move(connection)) {}
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (connection_) pool_->give_back(std::move(connection_));
  }

  Connection& operator*() const noexcept { return *connection_; }
  Connection* operator->() const noexcept { return connection_.get(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace blobcache::detail
