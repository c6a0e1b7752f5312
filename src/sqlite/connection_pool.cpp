#include "sqlite/connection_pool.hpp"

#include <memory>
#include <utility>

namespace blobcache::detail {
namespace {

// Idle connections kept beyond this are closed: each holds a page cache.
constexpr std::size_t kMaxIdle = 16;

// A connection opened by another process (the parent before fork) must
// never be used or closed here: its file locks belong to the parent.
void leak(std::unique_ptr<Connection> connection) noexcept {
  [[maybe_unused]] Connection* leaked = connection.release();
}

}  // namespace

ConnectionPool::ConnectionPool(ConnectionConfig config)
    : config_(std::move(config)), pid_(current_pid()) {}

ConnectionPool::~ConnectionPool() {
  const std::lock_guard lock(mutex_);
  forget_if_forked();
}

ConnectionPool::Lease ConnectionPool::acquire() {
  {
    const std::lock_guard lock(mutex_);
    forget_if_forked();
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
  }
  // Opening takes a while; do it outside the lock.
  return Lease(*this, std::make_unique<Connection>(config_));
}

void ConnectionPool::adopt(std::unique_ptr<Connection> connection) {
  give_back(std::move(connection));
}

void ConnectionPool::give_back(std::unique_ptr<Connection> connection) noexcept {
  if (connection->owner() != current_pid()) {
    leak(std::move(connection));
    return;
  }
  if (!connection->make_idle()) return;  // closed: not fit for reuse
  const std::lock_guard lock(mutex_);
  forget_if_forked();
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
}

void ConnectionPool::forget_if_forked() {
  const pid_t pid = current_pid();
  if (pid_ == pid) return;
  for (auto& connection : idle_) leak(std::move(connection));
  idle_.clear();
  pid_ = pid;
}

}  // namespace blobcache::detail
