#include "sqlite/wal_coalescing_vfs.hpp"

#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <sqlite3.h>
#include <vector>

#include "errors.hpp"
#include "sqlite/wrapping_vfs.hpp"

namespace blobcache::detail {
namespace {

// The WAL format (https://sqlite.org/fileformat2.html#walformat): a 32-byte
// file header, then frames of a 24-byte header and a page. Bytes 4-7 of a
// frame header, big-endian, are the database size after a commit: zero in
// every frame but the last of a transaction.
constexpr sqlite3_int64 kWalHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;
// The most one write may carry: the unix VFS writes the count modulo
// 128 KiB (its seekAndWrite masks it with 0x1ffff, SQLite's own writes
// being a page at most).
constexpr std::size_t kMaxWriteBytes = 0x1ffff;
// The largest page SQLite allows, until a page of the file has been seen.
constexpr std::size_t kMaxPageBytes = 65536;
// The WAL write lock's slot among the shared-memory locks (SQLite's wal.c).
constexpr int kWalWriteLock = 0;

bool is_commit_frame(const void* header) {
  const auto* bytes = static_cast<const unsigned char*>(header);
  return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

struct Shim : WrappedVfs {
  sqlite3_vfs vfs{};  // registered with SQLite; its pAppData points here
  std::string name;
};

// The sqlite3_file SQLite allocates for a main database or WAL file of this
// VFS: this header, then the base VFS's own file (wrapped_file). Other
// files (temporary ones) are the base's files, unwrapped.
struct File {
  sqlite3_file base;     // first: SQLite sees only this
  File* peer = nullptr;  // the database's WAL file, the WAL's database file
  // WAL files only: frames written by SQLite and not yet by the base.
  std::vector<unsigned char> buffered;
  sqlite3_int64 buffered_at = 0;  // the file offset of buffered[0]
  bool awaiting_page = false;     // the last frame header's page comes next
  bool awaiting_commit_page = false;
  std::size_t page_bytes = kMaxPageBytes;  // the size of the last page written
};

File& file_of(sqlite3_file* file) { return *reinterpret_cast<File*>(file); }

using Forward = FileForwarding<File>;

sqlite3_file* base_of(sqlite3_file* file) { return Forward::base(file); }
sqlite3_file* base_of(File& file) { return base_of(&file.base); }

void drop_buffered(File& wal) noexcept {
  wal.buffered.clear();
  wal.awaiting_page = false;
  wal.awaiting_commit_page = false;
}

// Writes what the WAL file holds back, in one call.
int write_buffered(File& wal) {
  if (wal.buffered.empty()) return SQLITE_OK;
  sqlite3_file* base = base_of(wal);
  const int rc = base->pMethods->xWrite(base, wal.buffered.data(),
                                        static_cast<int>(wal.buffered.size()), wal.buffered_at);
  // On an error SQLite gives the transaction up: the frames are not kept.
  drop_buffered(wal);
  return rc;
}

sqlite3_int64 buffered_end(const File& wal) {
  return wal.buffered_at + static_cast<sqlite3_int64>(wal.buffered.size());
}

void append(File& wal, const void* data, int amount, sqlite3_int64 offset) {
  if (wal.buffered.empty()) wal.buffered_at = offset;
  const auto* bytes = static_cast<const unsigned char*>(data);
  wal.buffered.insert(wal.buffered.end(), bytes, bytes + amount);
}

// A WAL write: a frame header or its page, while SQLite appends frames, is
// held back; the page of a commit frame writes them all. Anything else
// writes what is held back, then itself.
int wal_write(File& wal, const void* data, int amount, sqlite3_int64 offset) {
  const bool appends = wal.buffered.empty() || offset == buffered_end(wal);
  const bool fits = wal.buffered.size() + static_cast<std::size_t>(amount) <= kMaxWriteBytes;
  if (appends && fits && wal.awaiting_page) {
    append(wal, data, amount, offset);
    wal.awaiting_page = false;
    wal.page_bytes = static_cast<std::size_t>(amount);
    return wal.awaiting_commit_page ? write_buffered(wal) : SQLITE_OK;
  }
  if (appends && amount == kFrameHeaderBytes && offset >= kWalHeaderBytes) {
    if (wal.buffered.size() + kFrameHeaderBytes + wal.page_bytes > kMaxWriteBytes) {
      if (const int rc = write_buffered(wal); rc != SQLITE_OK) return rc;
    }
    append(wal, data, amount, offset);
    wal.awaiting_page = true;
    wal.awaiting_commit_page = is_commit_frame(data);
    return SQLITE_OK;
  }
  if (const int rc = write_buffered(wal); rc != SQLITE_OK) return rc;
  sqlite3_file* base = base_of(wal);
  return base->pMethods->xWrite(base, data, amount, offset);
}

// --- The methods of a WAL file: writes as above; every other call that
// looks at the file writes what is held back first.

int wal_close(sqlite3_file* file) {
  File& wal = file_of(file);
  // Held back at close: frames of no commit (a commit's last page wrote them).
  drop_buffered(wal);
  if (wal.peer != nullptr) wal.peer->peer = nullptr;
  sqlite3_file* base = base_of(file);
  const int rc = base->pMethods->xClose(base);
  wal.~File();
  return rc;
}
int wal_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  if (const int rc = write_buffered(file_of(file)); rc != SQLITE_OK) return rc;
  sqlite3_file* base = base_of(file);
  return base->pMethods->xRead(base, buffer, amount, offset);
}
int wal_write_method(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  return wal_write(file_of(file), buffer, amount, offset);
}
int wal_truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (const int rc = write_buffered(file_of(file)); rc != SQLITE_OK) return rc;
  sqlite3_file* base = base_of(file);
  return base->pMethods->xTruncate(base, size);
}
int wal_sync(sqlite3_file* file, int flags) {
  if (const int rc = write_buffered(file_of(file)); rc != SQLITE_OK) return rc;
  sqlite3_file* base = base_of(file);
  return base->pMethods->xSync(base, flags);
}
int wal_file_size(sqlite3_file* file, sqlite3_int64* size) {
  if (const int rc = write_buffered(file_of(file)); rc != SQLITE_OK) return rc;
  sqlite3_file* base = base_of(file);
  return base->pMethods->xFileSize(base, size);
}
int wal_file_control(sqlite3_file* file, int op, void* argument) {
  if (const int rc = write_buffered(file_of(file)); rc != SQLITE_OK) return rc;
  sqlite3_file* base = base_of(file);
  return base->pMethods->xFileControl(base, op, argument);
}

// --- The methods of a main database file: its shared-memory calls mark the
// end of its connection's writes to the WAL.

int db_close(sqlite3_file* file) {
  File& db = file_of(file);
  if (db.peer != nullptr) db.peer->peer = nullptr;
  sqlite3_file* base = base_of(file);
  const int rc = base->pMethods->xClose(base);
  db.~File();
  return rc;
}
int db_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  File& db = file_of(file);
  const bool releases_write_lock = (flags & SQLITE_SHM_UNLOCK) != 0 &&
                                   (flags & SQLITE_SHM_EXCLUSIVE) != 0 && offset <= kWalWriteLock &&
                                   kWalWriteLock < offset + n;
  // Still held back when the write lock goes: frames of a transaction that
  // rolled back. Written later they could land over another writer's.
  if (releases_write_lock && db.peer != nullptr) drop_buffered(*db.peer);
  return Forward::shm_lock(file, offset, n, flags);
}
// SQLite calls the barrier between writing the two copies of the WAL
// index header that publish a commit: its frames must be in the file by
// then. A commit's page wrote them already; this only guards that rule.
void db_shm_barrier(sqlite3_file* file) {
  File& db = file_of(file);
  if (db.peer != nullptr) (void)write_buffered(*db.peer);
  Forward::shm_barrier(file);
}

const sqlite3_io_methods kWalMethods = {
    3,
    wal_close,
    wal_read,
    wal_write_method,
    wal_truncate,
    wal_sync,
    wal_file_size,
    Forward::lock,
    Forward::unlock,
    Forward::check_reserved_lock,
    wal_file_control,
    Forward::sector_size,
    Forward::device_characteristics,
    nullptr,  // SQLite maps and locks shared memory through the database file only
    nullptr,
    nullptr,
    nullptr,
    Forward::fetch,
    Forward::unfetch,
};

const sqlite3_io_methods kDbMethods = {
    3,
    db_close,
    Forward::read,
    Forward::write,
    Forward::truncate,
    Forward::sync,
    Forward::file_size,
    Forward::lock,
    Forward::unlock,
    Forward::check_reserved_lock,
    Forward::file_control,
    Forward::sector_size,
    Forward::device_characteristics,
    Forward::shm_map,
    db_shm_lock,
    db_shm_barrier,
    Forward::shm_unmap,
    Forward::fetch,
    Forward::unfetch,
};

// --- The VFS's own method: xOpen wraps database and WAL files (wrap_vfs
// forwards the others).

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* base_vfs = vfs_forwarding::base_of(vfs);
  const bool is_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  const bool is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  if (!is_db && !is_wal) return base_vfs->xOpen(base_vfs, name, file, flags, out_flags);
  File& f = *new (file) File{};
  f.base.pMethods = nullptr;
  sqlite3_file* base = base_of(file);
  base->pMethods = nullptr;
  const int rc = base_vfs->xOpen(base_vfs, name, base, flags, out_flags);
  if (base->pMethods == nullptr) {  // nothing for SQLite to close
    f.~File();
    return rc;
  }
  f.base.pMethods = is_db ? &kDbMethods : &kWalMethods;
  if (is_wal && rc == SQLITE_OK) {
    // The database file of the same connection (its pager), opened
    // through this VFS before its WAL.
    sqlite3_file* db = sqlite3_database_file_object(name);
    if (db != nullptr && db->pMethods == &kDbMethods) {
      f.peer = &file_of(db);
      f.peer->peer = &f;
    }
  }
  return rc;
}
}  // namespace

std::string wal_coalescing_vfs(const std::string& base_name) {
  // Shims live as long as the process: SQLite may use one until it shuts
  // down. Leaked on purpose (no destructor runs after SQLite's).
  static std::mutex mutex;
  static auto& shims = *new std::map<sqlite3_vfs*, std::unique_ptr<Shim>>();
  if (sqlite3_initialize() != SQLITE_OK) throw_error(Errc::io, "sqlite3_initialize failed");
  sqlite3_vfs* base = sqlite3_vfs_find(base_name.empty() ? nullptr : base_name.c_str());
  if (base == nullptr || base->iVersion < 2) {
    throw_error(Errc::io, "no SQLite VFS named \"" + base_name + "\" to write the WAL through");
  }
  const std::lock_guard lock(mutex);
  std::unique_ptr<Shim>& shim = shims[base];
  if (shim != nullptr) return shim->name;
  auto made = std::make_unique<Shim>();
  made->base = base;
  made->name = "blobcache-wal-" + std::to_string(shims.size()) + "-" + base->zName;
  sqlite3_vfs& vfs = made->vfs;
  wrap_vfs(vfs, *made, made->name.c_str(), sizeof(File));
  vfs.xOpen = x_open;
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) {
    throw_error(Errc::io, "sqlite3_vfs_register failed for " + made->name);
  }
  shim = std::move(made);
  return shim->name;
}

}  // namespace blobcache::detail
