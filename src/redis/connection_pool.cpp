#include "redis/connection_pool.hpp"

#include <utility>

namespace blobcache::detail::redis {

ConnectionPool::ConnectionPool(ConnectionSettings settings, std::size_t size,
                               std::function<void(const Connection&)> on_connect)
    : settings_(std::move(settings)), size_(size), on_connect_(std::move(on_connect)) {}

ConnectionPool::Lease::~Lease() {
  if (connection_) pool_->give_back(std::move(connection_), owner_);
}

ConnectionPool::Lease ConnectionPool::acquire(const Where& where) {
  Slots& slots = slots_.get();
  std::unique_ptr<Connection> connection;
  {
    std::unique_lock lock(slots.mutex);
    slots.returned.wait(lock, [&] { return !slots.idle.empty() || slots.open < size_; });
    if (!slots.idle.empty()) {
      connection = std::move(slots.idle.back());
      slots.idle.pop_back();
    } else {
      ++slots.open;  // this slot is ours while we connect
    }
  }
  if (connection && connection->closed_by_server()) connection.reset();  // reconnect below
  if (!connection) {
    try {
      connection = std::make_unique<Connection>(settings_, where);
    } catch (...) {
      const std::lock_guard lock(slots.mutex);
      --slots.open;
      slots.returned.notify_one();
      throw;
    }
    on_connect_(*connection);
  }
  return Lease(*this, std::move(connection));
}

void ConnectionPool::give_back(std::unique_ptr<Connection> connection, pid_t owner) noexcept {
  if (owner != current_pid()) return;  // leased before a fork: closes this process's copy
  Slots& slots = slots_.get();
  const bool keep = !connection->broken();
  if (!keep) connection.reset();  // closes the socket outside the lock
  const std::lock_guard lock(slots.mutex);
  if (keep) {
    slots.idle.push_back(std::move(connection));
  } else {
    --slots.open;
  }
  slots.returned.notify_one();
}

}  // namespace blobcache::detail::redis
