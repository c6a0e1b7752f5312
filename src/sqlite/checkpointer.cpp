#include "sqlite/checkpointer.hpp"

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

struct Checkpointer::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  // Written under the mutex; read without it by on_commit, so that commits
  // while a pass is already asked for take no lock.
  std::atomic<bool> pending{false};
  // The thread's last pass left a short tail for a committer (see run).
  std::atomic<bool> tail_left{false};
  // The WAL's size after the latest commit past checkpoint_pages: a pass
  // learns the size only as it starts, and commits go on during it.
  std::atomic<int> wal_pages{0};
  bool stop = false;   // GUARDED_BY(mutex)
  std::thread thread;  // GUARDED_BY(mutex)
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

// Held by a checkpointer thread whenever it is inside SQLite, and by fork()
// (pthread_atfork) across the fork. The application cannot know when our
// thread is inside SQLite, so it could not pick a quiet moment to fork: a
// child would inherit SQLite's mutexes and in-process -shm locks as a pass
// left them (held forever, by a thread the child does not have). Fork waits
// for a running pass instead. One for the process: passes of several stores
// take turns, which the disk makes them do anyway.
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

Checkpointer::Checkpointer(ConnectionConfig config)
    : config_(std::move(config)), owner_(current_pid()), shared_(std::make_unique<Shared>()) {}

Checkpointer::~Checkpointer() {
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

void Checkpointer::watch(sqlite3* db) noexcept {
  sqlite3_wal_hook(db, &Checkpointer::on_commit, this);
}

int Checkpointer::on_commit(void* self, sqlite3* db, const char* /*schema*/, int wal_pages) {
  auto& checkpointer = *static_cast<Checkpointer*>(self);
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

bool Checkpointer::request() noexcept {
  Shared& shared = *shared_;
  if (shared.pending.load(std::memory_order_relaxed)) return true;
  try {
    const std::lock_guard lock(shared.mutex);
    if (shared.stop) return false;
    if (!shared.thread.joinable()) {
      install_fork_guard();
      shared.thread = std::thread(&Checkpointer::run, std::ref(shared), std::cref(config_));
    }
    shared.pending.store(true, std::memory_order_relaxed);
  } catch (...) {  // no thread (std::system_error): the caller checkpoints inline
    return false;
  }
  shared.wake.notify_one();
  return true;
}

// A writer starts the WAL over only when a checkpoint has copied all of it,
// and a pass never does while commits keep coming during it. So a pass that
// leaves a short tail hands it to the next committer (tail_left): its
// checkpoint runs between its own commits, copies the little that is left,
// and its next transaction starts the WAL over. A longer tail gets another
// pass at once, unless the pass copied nothing new (a reader holds the WAL
// back: then the next commit asks again) or the WAL is past the inline bound
// (then committers checkpoint, and must find the checkpoint lock free).
void Checkpointer::run(Shared& shared, const ConnectionConfig& config) noexcept {
  std::unique_ptr<Connection> connection;
  int copied_before = -1;
  std::unique_lock lock(shared.mutex);
  for (;;) {
    shared.wake.wait(lock,
                     [&] { return shared.pending.load(std::memory_order_relaxed) || shared.stop; });
    if (shared.stop) break;
    lock.unlock();
    int wal_pages = 0;
    int copied = 0;
    bool ran = false;
    try {
      const std::lock_guard guard(in_sqlite());
      if (!connection) connection = std::make_unique<Connection>(config);
      ran = checkpoint_passive(connection->db().getHandle(), shared.background, shared.failed,
                               &wal_pages, &copied);
    } catch (...) {  // could not open: the next request tries again
      shared.failed.fetch_add(1, std::memory_order_relaxed);
    }
    const int wal_now = std::max(wal_pages, shared.wal_pages.load(std::memory_order_relaxed));
    const int left = wal_now - copied;
    const bool again = ran && left > tail_pages(config.tuning) && copied != copied_before &&
                       wal_now < config.tuning.checkpoint_inline_pages;
    copied_before = copied;
    lock.lock();
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

CheckpointCounts Checkpointer::counts() const noexcept {
  return {.background = shared_->background.load(std::memory_order_relaxed),
          .inline_ = shared_->inline_.load(std::memory_order_relaxed),
          .failed = shared_->failed.load(std::memory_order_relaxed)};
}

}  // namespace blobcache::detail
