#include "sqlite/change_log.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <new>
#include <pthread.h>
#include <string>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <xxhash.h>

#include "sqlite/connection_pool.hpp"

namespace blobcache::detail {
namespace {

// "BCchlog1": the file's first bytes once it is initialised.
constexpr std::uint64_t kMagic = 0x31676F6C68434342ULL;
constexpr std::uint32_t kLayout = 1;

struct Record {
  std::atomic<std::uint64_t> seq;  // the record's sequence number; 0 while written
  std::atomic<std::uint64_t> value;
  std::atomic<std::uint32_t> kind;
  std::uint32_t unused;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the log is shared between processes: its atomics must be lock-free");

std::uint64_t hash_with_tag(std::string_view a, std::string_view b, std::uint64_t tag) noexcept {
  // The first name's hash seeds the second's: (a, b) pairs that differ
  // hash apart, with no buffer to join them in.
  return XXH3_64bits_withSeed(b.data(), b.size(), XXH3_64bits_withSeed(a.data(), a.size(), tag));
}

}  // namespace

std::uint64_t key_hash(std::string_view ns, std::string_view key) noexcept {
  return hash_with_tag(ns, key, 1);
}

std::uint64_t namespace_hash(std::string_view ns) noexcept { return hash_with_tag(ns, {}, 2); }

// The file's layout (kLayout): processes of different builds share it, so a
// change bumps kLayout. tests/robustness/worker.cpp (hold-changes-lock)
// knows the header up to the mutex.
struct ChangeLog::Shared {
  std::atomic<std::uint64_t> magic;
  std::uint32_t layout;
  std::uint32_t capacity;
  pthread_mutex_t mutex;
  alignas(64) std::atomic<std::uint64_t> head;
  alignas(64) std::array<Record, kCapacity> records;
};

namespace {

// `fd` is still the file at `path` (a last closer may have unlinked it).
bool same_file(int fd, const std::string& path) noexcept {
  struct stat opened {};
  struct stat named {};
  return ::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 &&
         opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

}  // namespace

// Every process holds a shared flock on the file while it has it open; the
// last to close takes it exclusive and removes the file, as SQLite does with
// -wal and -shm. So an opener checks, once it holds its lock, that the path
// still names the file it opened. Only a new file is initialised, by the one
// opener that gets it exclusive (nobody else has it then); the others wait
// for its magic.
std::unique_ptr<ChangeLog> ChangeLog::open(const std::filesystem::path& database,
                                           bool writable) noexcept {
  const std::string path = database.string() + "-changes";
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (attempt > 0) ::usleep(static_cast<useconds_t>(std::min(attempt, 100) * 100));
    int fd = writable ? ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // read-only, or its folder is
    if (fd < 0) return nullptr;
    const bool can_write = (::fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
    // Shared: waits only while a closer or an initialiser holds it exclusive.
    if (::flock(fd, LOCK_SH) != 0) {
      ::close(fd);
      return nullptr;
    }
    if (!same_file(fd, path)) {  // removed by the last closer meanwhile
      ::close(fd);
      continue;
    }
    if (Shared* shared = map(fd, can_write, false)) {
      return std::unique_ptr<ChangeLog>(new (std::nothrow) ChangeLog(fd, shared, can_write, path));
    }
    // Not initialised yet: whoever gets it exclusive does it.
    if (!can_write || ::flock(fd, LOCK_EX | LOCK_NB) != 0 || !same_file(fd, path)) {
      ::close(fd);  // another opener is initialising it: try again shortly
      if (!can_write && attempt > 100) return nullptr;
      continue;
    }
    Shared* shared = map(fd, can_write, true);
    // Converting back to shared is not atomic: the file may go in between.
    if (shared == nullptr || ::flock(fd, LOCK_SH) != 0 || !same_file(fd, path)) {
      if (shared != nullptr) ::munmap(shared, sizeof(Shared));
      ::close(fd);
      if (shared == nullptr) return nullptr;
      continue;
    }
    return std::unique_ptr<ChangeLog>(new (std::nothrow) ChangeLog(fd, shared, can_write, path));
  }
  return nullptr;
}

ChangeLog::Shared* ChangeLog::map(int fd, bool can_write, bool initialise) noexcept {
  struct stat status {};
  if (::fstat(fd, &status) != 0) return nullptr;
  const auto size = static_cast<off_t>(sizeof(Shared));
  if (status.st_size < size) {
    if (!initialise || ::ftruncate(fd, size) != 0) return nullptr;
  }
  void* mapping =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | (can_write ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
  if (mapping == MAP_FAILED) return nullptr;
  auto* shared = static_cast<Shared*>(mapping);
  if (shared->magic.load(std::memory_order_acquire) != kMagic) {
    if (!initialise) {
      ::munmap(mapping, sizeof(Shared));
      return nullptr;
    }
    // A new file (zeroes), or one whose creator died before the magic.
    pthread_mutexattr_t attributes;
    ::pthread_mutexattr_init(&attributes);
    ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    ::pthread_mutex_init(&shared->mutex, &attributes);
    ::pthread_mutexattr_destroy(&attributes);
    shared->layout = kLayout;
    shared->capacity = static_cast<std::uint32_t>(kCapacity);
    shared->head.store(0, std::memory_order_relaxed);
    shared->magic.store(kMagic, std::memory_order_release);
  }
  if (shared->layout != kLayout || shared->capacity != kCapacity) {
    ::munmap(mapping, sizeof(Shared));  // another layout: not ours to use
    return nullptr;
  }
  return shared;
}

ChangeLog::ChangeLog(int fd, Shared* shared, bool writable, std::string path) noexcept
    : fd_(fd),
      shared_(shared),
      writable_(writable),
      path_(std::move(path)),
      owner_(current_pid()) {}

ChangeLog::~ChangeLog() {
  ::munmap(shared_, sizeof(Shared));
  // A forked child shares the parent's lock (one open file description):
  // taking it exclusive would succeed and remove the parent's file.
  if (current_pid() == owner_ && ::flock(fd_, LOCK_EX | LOCK_NB) == 0 && same_file(fd_, path_)) {
    ::unlink(path_.c_str());
  }
  ::close(fd_);
}

std::uint64_t ChangeLog::head() const noexcept {
  return shared_->head.load(std::memory_order_acquire);
}

bool ChangeLog::lock() noexcept {
  if (!writable_) return false;
  const int rc = ::pthread_mutex_lock(&shared_->mutex);
  if (rc == EOWNERDEAD) {
    // Its holder died mid-append: the record it wrote may be half done.
    ::pthread_mutex_consistent(&shared_->mutex);
    append({.kind = Change::Kind::all, .value = 0});
    return true;
  }
  return rc == 0;
}

void ChangeLog::unlock() noexcept { ::pthread_mutex_unlock(&shared_->mutex); }

void ChangeLog::append(Change change) noexcept {
  const std::uint64_t seq = shared_->head.load(std::memory_order_relaxed) + 1;
  Record& record = shared_->records.at(seq % kCapacity);
  record.seq.store(0, std::memory_order_relaxed);
  // Release: a reader that loads (acquire) either new field then sees seq
  // 0 or later, never the old seq, when it checks again (read()). Not a
  // fence: ThreadSanitizer does not support fences.
  record.value.store(change.value, std::memory_order_release);
  record.kind.store(static_cast<std::uint32_t>(change.kind), std::memory_order_release);
  record.seq.store(seq, std::memory_order_release);
  shared_->head.store(seq, std::memory_order_release);
}

std::uint64_t ChangeLog::begin(std::span<const Change> changes) noexcept {
  if (!lock()) return 0;
  const std::uint64_t id = shared_->head.load(std::memory_order_relaxed) + 1;
  append({.kind = Change::Kind::begin, .value = id});
  for (const Change& change : changes) append(change);
  unlock();
  return id;
}

void ChangeLog::end(std::uint64_t id) noexcept {
  if (id == 0 || !lock()) return;
  append({.kind = Change::Kind::end, .value = id});
  unlock();
}

bool ChangeLog::read(std::uint64_t from, std::uint64_t to,
                     const std::function<void(const Change&)>& visit) const noexcept {
  for (std::uint64_t seq = from + 1; seq <= to; ++seq) {
    const Record& record = shared_->records.at(seq % kCapacity);
    if (record.seq.load(std::memory_order_acquire) != seq) return false;
    const Change change{
        .kind = static_cast<Change::Kind>(record.kind.load(std::memory_order_acquire)),
        .value = record.value.load(std::memory_order_acquire)};
    if (record.seq.load(std::memory_order_relaxed) != seq) return false;  // overwritten meanwhile
    visit(change);
  }
  return true;
}

}  // namespace blobcache::detail
