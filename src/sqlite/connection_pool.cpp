#include "sqlite/connection_pool.hpp"

#include <atomic>
#include <pthread.h>
#include <unistd.h>

namespace blobcache::detail {
namespace {

// getpid() is a system call, and system calls are expensive in VMs: the pool
// used to make three per operation (a third of a 1 KiB get's syscalls). The
// pid is cached instead and refreshed in the child of every fork() by a
// pthread_atfork handler (async-signal-safe: one atomic store).
std::atomic<pid_t> cached_pid{0};

void refresh_cached_pid() noexcept { cached_pid.store(::getpid(), std::memory_order_relaxed); }

// Idle connections kept beyond this are closed: each holds a page cache.
constexpr std::size_t kMaxIdle = 16;

// A connection opened by another process (the parent before fork) must
// never be used or closed here: its file locks belong to the parent.
void leak(std::unique_ptr<Connection> connection) noexcept {
  [[maybe_unused]] Connection* leaked = connection.release();
}

}  // namespace

// Installs the handler once per process (a forked child inherits it).
pid_t current_pid() noexcept {
  static const bool installed = [] {
    refresh_cached_pid();
    ::pthread_atfork(nullptr, nullptr, &refresh_cached_pid);
    return true;
  }();
  static_cast<void>(installed);
  return cached_pid.load(std::memory_order_relaxed);
}

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
