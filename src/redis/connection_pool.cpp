#include "redis/connection_pool.hpp"

#include <utility>

namespace blobcache::detail::redis {

ConnectionPool::ConnectionPool(ConnectionSettings settings, std::size_t size,
                               std::function<void(const Connection&)> on_connect)
    : settings_(std::move(settings)), size_(size), on_connect_(std::move(on_connect)) {}

ConnectionPool::Lease::~Lease() {
  if (connection_) pool_->give_back(std::move(connection_));
}

ConnectionPool::Lease ConnectionPool::acquire(const Where& where) {
  std::unique_ptr<Connection> connection;
  {
    std::unique_lock lock(mutex_);
    returned_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // this slot is ours while we connect
    }
  }
  if (connection && connection->closed_by_server()) connection.reset();  // reconnect below
  if (!connection) {
    try {
      connection = std::make_unique<Connection>(settings_, where);
    } catch (...) {
      const std::lock_guard lock(mutex_);
      --open_;
      returned_.notify_one();
      throw;
    }
    on_connect_(*connection);
  }
  return Lease(*this, std::move(connection));
}

void ConnectionPool::give_back(std::unique_ptr<Connection> connection) noexcept {
  const bool keep = !connection->broken();
  if (!keep) connection.reset();  // closes the socket outside the lock
  const std::lock_guard lock(mutex_);
  if (keep) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
  returned_.notify_one();
}

}  // namespace blobcache::detail::redis
