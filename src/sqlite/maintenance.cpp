#include "sqlite/maintenance.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <pthread.h>
#include <sqlite3.h>
#include <thread>

#include "sqlite/connection_pool.hpp"
#include "sqlite/sqlite_error.hpp"

namespace blobcache::detail {

struct Maintenance::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  // The duty: what runs it and when (all GUARDED_BY(mutex)).
  std::shared_ptr<const std::function<void()>> duty;
  std::chrono::milliseconds duty_interval{1000};
  bool duty_wanted = false;  // a request since the last run
  bool duty_now = false;     // ... asking for a run at once
  std::chrono::steady_clock::time_point duty_due{};
  bool duty_running = false;
  std::condition_variable duty_done;
  // Read without the mutex by request_duty (a hint; the mutex decides).
  std::atomic<bool> duty_requested{false};
  // Written under the mutex; read without it by on_commit, so that commits
  // while a pass is already asked for take no lock.
  std::atomic<bool> pending{false};
  // The thread's last pass left a short tail for a committer (see run).
  std::atomic<bool> tail_left{false};
  // The WAL's size after the latest commit past checkpoint_pages: a pass
  // learns the size only as it starts, and commits go on during it.
  std::atomic<int> wal_pages{0};
  bool stop = false;                 // GUARDED_BY(mutex)
  std::thread thread;                // GUARDED_BY(mutex)
  std::atomic<bool> started{false};  // the thread runs run()
  // What counts() reports.
  std::atomic<std::uint64_t> background{0};
  std::atomic<std::uint64_t> inline_{0};
  std::atomic<std::uint64_t> failed{0};
};

namespace {

// PASSIVE: never waits for readers or writers, so it never blocks a put.
// BUSY means another connection (or process) is checkpointing: its work
// serves us too. Errors are dropped: the next commit past the threshold
// tries again. Returns whether it ran.
bool checkpoint_passive(sqlite3* db, std::atomic<std::uint64_t>& done,
                        std::atomic<std::uint64_t>& failed, int* wal_pages = nullptr,
                        int* copied = nullptr) noexcept {
  const int rc =
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, wal_pages, copied);
  if (rc == SQLITE_OK) {
    done.fetch_add(1, std::memory_order_relaxed);
  } else if (!is_lock_wait(rc)) {
    failed.fetch_add(1, std::memory_order_relaxed);
  }
  return rc == SQLITE_OK;
}

// Held by a maintenance thread whenever it is awake (not waiting for work),
// and by fork() (pthread_atfork) across the fork. The application cannot
// know when our thread works, so it could not pick a quiet moment to fork:
// a child would inherit SQLite's mutexes and in-process -shm locks as a pass
// left them, or an allocator lock the thread held (held forever, by a thread
// the child does not have; glibc's malloc guards itself across fork, but not
// every allocator does: GCC 12's AddressSanitizer does not). Fork waits for
// a running pass instead. One for the process: passes of several stores take
// turns, which the disk makes them do anyway.
std::mutex& in_sqlite() noexcept {
  static std::mutex guard;
  return guard;
}

void install_fork_guard() noexcept {
  static const bool installed = [] {
    ::pthread_atfork([] { in_sqlite().lock(); }, [] { in_sqlite().unlock(); },
                     [] { in_sqlite().unlock(); });
    return true;
  }();
  static_cast<void>(installed);
}

// The WAL pages a pass may leave to a committer (see run).
int tail_pages(const Tuning& tuning) noexcept { return std::max(16, tuning.checkpoint_pages / 8); }

}  // namespace

Maintenance::Maintenance(ConnectionConfig config)
    : config_(std::move(config)), owner_(current_pid()), shared_(std::make_unique<Shared>()) {}

Maintenance::~Maintenance() {
  if (current_pid() != owner_) {
    [[maybe_unused]] Shared* leaked = shared_.release();
    return;
  }
  {
    const std::lock_guard lock(shared_->mutex);
    shared_->stop = true;
  }
  shared_->wake.notify_one();
  // Nobody can start it now (stop is set), so it is read without the lock.
  if (shared_->thread.joinable()) shared_->thread.join();
}

void Maintenance::watch(sqlite3* db) noexcept {
  sqlite3_wal_hook(db, &Maintenance::on_commit, this);
}

int Maintenance::on_commit(void* self, sqlite3* db, const char* /*schema*/, int wal_pages) {
  auto& checkpointer = *static_cast<Maintenance*>(self);
  const Tuning& t = checkpointer.config_.tuning;
  const bool past_bound = wal_pages >= t.checkpoint_inline_pages;
  if (wal_pages < t.checkpoint_pages && !past_bound) {
    // The WAL started over: no tail is left from the thread's last pass.
    auto& tail_left = checkpointer.shared_->tail_left;
    if (tail_left.load(std::memory_order_relaxed))
      tail_left.store(false, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  checkpointer.shared_->wal_pages.store(wal_pages, std::memory_order_relaxed);
  // The pid check comes first: in a forked child the mutex must not be touched.
  const bool inline_now =
      past_bound || current_pid() != checkpointer.owner_ ||
      checkpointer.shared_->tail_left.exchange(false, std::memory_order_relaxed) ||
      !checkpointer.request();
  if (inline_now) {
    checkpoint_passive(db, checkpointer.shared_->inline_, checkpointer.shared_->failed);
  }
  // The commit has happened whatever the checkpoint did; an error returned
  // here would make the caller's statement fail.
  return SQLITE_OK;
}

void Maintenance::start_thread() {
  if (shared_->thread.joinable()) return;
  install_fork_guard();
  // A thread still starting allocates (its stack, its thread-local state)
  // outside the fork guard, so it is waited for until it runs our code.
  // Once per store.
  shared_->thread = std::thread([&shared = *shared_, &config = config_] {
    shared.started.store(true);
    shared.started.notify_one();
    run(shared, config);
  });
  shared_->started.wait(false);
}

bool Maintenance::request() noexcept {
  Shared& shared = *shared_;
  if (shared.pending.load(std::memory_order_relaxed)) return true;
  try {
    const std::lock_guard lock(shared.mutex);
    if (shared.stop) return false;
    start_thread();
    shared.pending.store(true, std::memory_order_relaxed);
  } catch (...) {  // no thread (std::system_error): the caller checkpoints inline
    return false;
  }
  shared.wake.notify_one();
  return true;
}

void Maintenance::set_duty(std::function<void()> duty, std::chrono::milliseconds interval) {
  const std::lock_guard lock(shared_->mutex);
  shared_->duty = std::make_shared<const std::function<void()>>(std::move(duty));
  shared_->duty_interval = interval;
}

void Maintenance::request_duty(bool now) noexcept {
  Shared& shared = *shared_;
  if (!now && shared.duty_requested.load(std::memory_order_relaxed)) return;
  // In a forked child the mutex must not be touched: its thread is the
  // parent's.
  if (current_pid() != owner_) return;
  try {
    const std::lock_guard lock(shared.mutex);
    if (shared.stop || !shared.duty) return;
    if (!shared.duty_wanted) {
      shared.duty_wanted = true;
      shared.duty_due = std::chrono::steady_clock::now() + shared.duty_interval;
    }
    shared.duty_now = shared.duty_now || now;
    shared.duty_requested.store(true, std::memory_order_relaxed);
    start_thread();
  } catch (...) {  // NOLINT(bugprone-empty-catch): no thread; the store's writes do the duty
    return;
  }
  shared.wake.notify_one();
}

void Maintenance::clear_duty() noexcept {
  if (current_pid() != owner_) return;
  std::unique_lock lock(shared_->mutex);
  shared_->duty_done.wait(lock, [&] { return !shared_->duty_running; });
  shared_->duty.reset();
  shared_->duty_wanted = false;
  shared_->duty_requested.store(false, std::memory_order_relaxed);
}

// A writer starts the WAL over only when a checkpoint has copied all of it,
// and a pass never does while commits keep coming during it. So a pass that
// leaves a short tail hands it to the next committer (tail_left): its
// checkpoint runs between its own commits, copies the little that is left,
// and its next transaction starts the WAL over. A longer tail gets another
// pass at once, unless the pass copied nothing new (a reader holds the WAL
// back: then the next commit asks again) or the WAL is past the inline bound
// (then committers checkpoint, and must find the checkpoint lock free).
void Maintenance::run(Shared& shared, const ConnectionConfig& config) noexcept {
  std::unique_ptr<Connection> connection;
  int copied_before = -1;
  std::unique_lock lock(shared.mutex);
  for (;;) {
    const auto woken = [&] {
      return shared.stop || shared.pending.load(std::memory_order_relaxed) ||
             (shared.duty_wanted &&
              (shared.duty_now || std::chrono::steady_clock::now() >= shared.duty_due));
    };
    if (shared.duty_wanted && !shared.duty_now) {
      shared.wake.wait_until(lock, shared.duty_due, woken);
    } else {
      shared.wake.wait(lock, woken);
    }
    if (shared.stop) break;
    const bool checkpoint = shared.pending.load(std::memory_order_relaxed);
    std::shared_ptr<const std::function<void()>> duty;
    if (shared.duty_wanted &&
        (shared.duty_now || std::chrono::steady_clock::now() >= shared.duty_due)) {
      duty = shared.duty;
      shared.duty_wanted = false;
      shared.duty_now = false;
      shared.duty_requested.store(false, std::memory_order_relaxed);
      shared.duty_running = duty != nullptr;
    }
    if (!checkpoint && !duty) continue;  // a spurious wake-up
    lock.unlock();
    int wal_pages = 0;
    int copied = 0;
    bool ran = false;
    {
      // All the thread does awake is under the fork guard, what it
      // allocates and frees included (a caught exception, the duty's last
      // reference).
      const std::lock_guard awake(in_sqlite());
      if (duty) {
        try {
          (*duty)();
        } catch (...) {  // NOLINT(bugprone-empty-catch): the next request runs it again
        }
        duty.reset();
      }
      if (checkpoint) {
        try {
          if (!connection) connection = std::make_unique<Connection>(config);
          ran = checkpoint_passive(connection->db().getHandle(), shared.background, shared.failed,
                                   &wal_pages, &copied);
        } catch (...) {  // could not open: the next request tries again
          shared.failed.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    lock.lock();
    if (shared.duty_running) {
      shared.duty_running = false;
      shared.duty_done.notify_all();
    }
    if (!checkpoint) continue;
    const int wal_now = std::max(wal_pages, shared.wal_pages.load(std::memory_order_relaxed));
    const int left = wal_now - copied;
    const bool again = ran && left > tail_pages(config.tuning) && copied != copied_before &&
                       wal_now < config.tuning.checkpoint_inline_pages;
    copied_before = copied;
    // Requests made during the pass are answered by this decision.
    shared.pending.store(again, std::memory_order_relaxed);
    shared.tail_left.store(ran && !again, std::memory_order_relaxed);
  }
  lock.unlock();
  // Closing may checkpoint the whole WAL and delete it (when this is the
  // file's last connection): inside SQLite too.
  const std::lock_guard guard(in_sqlite());
  connection.reset();
}

CheckpointCounts Maintenance::counts() const noexcept {
  return {.background = shared_->background.load(std::memory_order_relaxed),
          .inline_ = shared_->inline_.load(std::memory_order_relaxed),
          .failed = shared_->failed.load(std::memory_order_relaxed)};
}

}  // namespace blobcache::detail
