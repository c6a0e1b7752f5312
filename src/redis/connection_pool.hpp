// Internal: a bounded pool of Redis connections shared by a store's threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "per_process.hpp"
#include "redis/connection.hpp"

namespace blobcache::detail::redis {

// Thread-safe. Opens connections lazily, at most `size` at once; a caller
// beyond that waits for one to come back. A connection that failed is
// dropped when it comes back, and one the server closed while it was idle
// is dropped before it is handed out; either way the next caller connects
// anew, so a restarted server is used again without recreating anything.
// A forked child never uses its parent's connections (two processes on one
// socket would read each other's replies): it opens its own, and a
// parent's connection that comes back in the child is closed there (which
// leaves the parent's open).
class ConnectionPool {
 public:
  // `on_connect` runs for every new connection, before it is handed out
  // (the store reads the server's INFO there). It must not throw.
  ConnectionPool(ConnectionSettings settings, std::size_t size,
                 std::function<void(const Connection&)> on_connect);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection for one caller; returned to the pool when destroyed.
  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection) noexcept
        : pool_(&pool), connection_(std::move(connection)), owner_(current_pid()) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&& other) noexcept = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
    pid_t owner_;  // the process whose pool accounts for the connection
  };

  // Throws what Connection's constructor throws (unavailable, ...).
  Lease acquire(const Where& where);

 private:
  struct Slots {
    std::mutex mutex;
    std::condition_variable returned;
    std::vector<std::unique_ptr<Connection>> idle;  // GUARDED_BY(mutex)
    std::size_t open = 0;  // idle or leased, or being opened; GUARDED_BY(mutex)
  };
  void give_back(std::unique_ptr<Connection> connection, pid_t owner) noexcept;

  const ConnectionSettings settings_;
  const std::size_t size_;
  const std::function<void(const Connection&)> on_connect_;
  PerProcess<Slots> slots_;
};

}  // namespace blobcache::detail::redis
