#include "fault_vfs.hpp"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <sqlite3.h>
#include <stdexcept>
#include <string>

#include "sqlite/wrapping_vfs.hpp"

namespace blobcache::test {
namespace {

enum class FileKind { database, wal, other };

bool hits(FaultTarget target, FileKind kind) noexcept {
  switch (target) {
    case FaultTarget::database:
      return kind == FileKind::database;
    case FaultTarget::wal:
      return kind == FileKind::wal;
    case FaultTarget::both:
      return kind != FileKind::other;
  }
  return false;
}

}  // namespace

// WrappedVfs::base: the unix VFS.
struct FaultVfs::Impl : detail::WrappedVfs {
  // Registered with SQLite; its pAppData points back here.
  sqlite3_vfs vfs{};
  std::string name;

  mutable std::mutex mutex;
  std::optional<Fault> armed;  // GUARDED_BY(mutex)
  std::uint64_t seen = 0;      // GUARDED_BY(mutex)
  std::uint64_t fired = 0;     // GUARDED_BY(mutex)
  std::atomic<std::uint64_t> lock_refusals{0};

  // Counts a call of `op` on a file of `kind`; true (with the errno to
  // leave in `error`) when it must fail.
  bool fails(FaultOp op, FileKind kind, int& error) {
    const std::lock_guard lock(mutex);
    if (!armed || armed->op != op || !hits(armed->target, kind)) return false;
    if (++seen < armed->nth) return false;
    ++fired;
    error = armed->error;
    return true;
  }

  // Whether an armed fault may fail reads of a file of `kind`.
  bool fails_reads(FileKind kind) const {
    const std::lock_guard lock(mutex);
    return armed && armed->op == FaultOp::read && hits(armed->target, kind);
  }
};

namespace {

using Impl = FaultVfs::Impl;

// The sqlite3_file SQLite allocates for a file of this VFS (szOsFile bytes):
// this header, then the unix VFS's own file (wrapped_file).
struct File {
  sqlite3_file base;  // first: SQLite sees only this
  Impl* vfs;
  FileKind kind;
};

File& file_of(sqlite3_file* file) { return *reinterpret_cast<File*>(file); }

using Forward = detail::FileForwarding<File>;

sqlite3_file* real_of(sqlite3_file* file) { return Forward::base(file); }

Impl& impl_of(sqlite3_vfs* vfs) {
  return *static_cast<Impl*>(static_cast<detail::WrappedVfs*>(vfs->pAppData));
}

// Fails the call as the armed fault says, or runs the real one.
template <typename Call>
int faulted(sqlite3_file* file, FaultOp op, Call&& call) {
  File& f = file_of(file);
  int error = 0;
  if (f.vfs->fails(op, f.kind, error)) {
    errno = error;
    return FaultVfs::result_code(op, error);
  }
  return call(real_of(file));
}

int counted_lock(Impl& vfs, int rc) {
  if (rc == SQLITE_BUSY) vfs.lock_refusals.fetch_add(1, std::memory_order_relaxed);
  return rc;
}

// The methods of every file: the four faulted ones, the two that count lock
// refusals, the fetch that stays off while reads may fail; the rest forwarded.
int x_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return faulted(file, FaultOp::read, [&](sqlite3_file* real) {
    return real->pMethods->xRead(real, buffer, amount, offset);
  });
}
int x_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  return faulted(file, FaultOp::write, [&](sqlite3_file* real) {
    return real->pMethods->xWrite(real, buffer, amount, offset);
  });
}
int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  return faulted(file, FaultOp::truncate,
                 [&](sqlite3_file* real) { return real->pMethods->xTruncate(real, size); });
}
int x_sync(sqlite3_file* file, int flags) {
  return faulted(file, FaultOp::sync,
                 [&](sqlite3_file* real) { return real->pMethods->xSync(real, flags); });
}
int x_lock(sqlite3_file* file, int level) {
  return counted_lock(*file_of(file).vfs, Forward::lock(file, level));
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  const int rc = Forward::shm_lock(file, offset, n, flags);
  return (flags & SQLITE_SHM_LOCK) != 0 ? counted_lock(*file_of(file).vfs, rc) : rc;
}
// A mapped page is read without xRead: while reads of this file may fail,
// no page is mapped (SQLite then reads it with xRead).
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  if (file_of(file).vfs->fails_reads(file_of(file).kind)) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return Forward::fetch(file, offset, amount, out);
}
int x_close(sqlite3_file* file) {
  sqlite3_file* real = real_of(file);
  return real->pMethods->xClose(real);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    Forward::file_size,
    x_lock,
    Forward::unlock,
    Forward::check_reserved_lock,
    Forward::file_control,
    Forward::sector_size,
    Forward::device_characteristics,
    Forward::shm_map,
    x_shm_lock,
    Forward::shm_barrier,
    Forward::shm_unmap,
    x_fetch,
    Forward::unfetch,
};

// The VFS's own methods: xOpen wraps the file, the rest are the unix VFS's.
int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  Impl& impl = impl_of(vfs);
  File& f = file_of(file);
  f.vfs = &impl;
  f.kind = (flags & SQLITE_OPEN_MAIN_DB) != 0 ? FileKind::database
           : (flags & SQLITE_OPEN_WAL) != 0   ? FileKind::wal
                                              : FileKind::other;
  sqlite3_file* real = real_of(file);
  real->pMethods = nullptr;
  const int rc = impl.base->xOpen(impl.base, name, real, flags, out_flags);
  // SQLite closes a file whose pMethods is set, even after a failed open.
  f.base.pMethods = real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}
std::string next_name() {
  static std::atomic<int> counter{0};
  return "blobcache-fault-" + std::to_string(++counter);
}

}  // namespace

FaultVfs::FaultVfs(bool make_default) : impl_(std::make_unique<Impl>()) {
  if (sqlite3_initialize() != SQLITE_OK) throw std::runtime_error("sqlite3_initialize failed");
  impl_->base = sqlite3_vfs_find("unix");
  if (impl_->base == nullptr || impl_->base->iVersion < 2) {
    throw std::runtime_error("SQLite has no unix VFS to wrap");
  }
  impl_->name = next_name();
  sqlite3_vfs& vfs = impl_->vfs;
  detail::wrap_vfs(vfs, *impl_, impl_->name.c_str(), sizeof(File));
  vfs.xOpen = x_open;
  if (sqlite3_vfs_register(&vfs, make_default ? 1 : 0) != SQLITE_OK) {
    throw std::runtime_error("sqlite3_vfs_register failed");
  }
}

FaultVfs::~FaultVfs() { sqlite3_vfs_unregister(&impl_->vfs); }

const std::string& FaultVfs::name() const noexcept { return impl_->name; }

void FaultVfs::arm(const Fault& fault) {
  if (fault.nth == 0) throw std::invalid_argument("Fault::nth counts from 1");
  const std::lock_guard lock(impl_->mutex);
  impl_->armed = fault;
  impl_->seen = 0;
  impl_->fired = 0;
}

void FaultVfs::clear() {
  const std::lock_guard lock(impl_->mutex);
  impl_->armed.reset();
}

std::uint64_t FaultVfs::fired() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->fired;
}

std::uint64_t FaultVfs::seen() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->seen;
}

std::uint64_t FaultVfs::lock_refusals() const {
  return impl_->lock_refusals.load(std::memory_order_relaxed);
}

int FaultVfs::result_code(FaultOp op, int error) noexcept {
  switch (op) {
    case FaultOp::read:
      return SQLITE_IOERR_READ;
    case FaultOp::write:
      return error == ENOSPC ? SQLITE_FULL : SQLITE_IOERR_WRITE;
    case FaultOp::sync:
      return SQLITE_IOERR_FSYNC;
    case FaultOp::truncate:
      return SQLITE_IOERR_TRUNCATE;
  }
  return SQLITE_IOERR;
}

}  // namespace blobcache::test
