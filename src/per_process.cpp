#include "per_process.hpp"

#include <pthread.h>
#include <unistd.h>

namespace blobcache::detail {
namespace {

// getpid() is a system call, and system calls are expensive in VMs: the
// connection pool used to make three per operation (a third of a 1 KiB
// get's syscalls). The pid is cached instead and refreshed in the child of
// every fork() by a pthread_atfork handler (async-signal-safe: one atomic
// store).
std::atomic<pid_t> cached_pid{0};

void refresh_cached_pid() noexcept { cached_pid.store(::getpid(), std::memory_order_relaxed); }

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

}  // namespace blobcache::detail
