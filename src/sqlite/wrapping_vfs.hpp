// Internal: the parts every SQLite VFS that wraps another shares (the
// WAL-coalescing VFS, and the fault-injecting one of the tests): the
// methods that only forward, and where the wrapped file lies.
#pragma once

#include <cstddef>
#include <sqlite3.h>

namespace blobcache::detail {

// What the pAppData of a wrapping VFS points to begins with: the VFS it
// wraps.
struct WrappedVfs {
  sqlite3_vfs* base = nullptr;
};

// Where the base's file starts in a wrapper's file whose own part is
// `header_bytes` long: aligned as malloc aligns.
constexpr std::size_t wrapped_file_offset(std::size_t header_bytes) {
  constexpr std::size_t align = alignof(std::max_align_t);
  return (header_bytes + align - 1) / align * align;
}

// The base's file inside a wrapper's `file`, made with `header_bytes`.
inline sqlite3_file* wrapped_file(sqlite3_file* file, std::size_t header_bytes) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): SQLite's file layout
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) +
                                         wrapped_file_offset(header_bytes));
}

// The io methods of a wrapper's files that forward to the base's file as
// they are; `File` is the wrapper's own part of a file (wrapped_file). A
// wrapper puts these in its sqlite3_io_methods where it adds nothing.
template <typename File>
struct FileForwarding {
  static sqlite3_file* base(sqlite3_file* file) { return wrapped_file(file, sizeof(File)); }

  static int read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
    sqlite3_file* b = base(file);
    return b->pMethods->xRead(b, buffer, amount, offset);
  }
  static int write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
    sqlite3_file* b = base(file);
    return b->pMethods->xWrite(b, buffer, amount, offset);
  }
  static int truncate(sqlite3_file* file, sqlite3_int64 size) {
    sqlite3_file* b = base(file);
    return b->pMethods->xTruncate(b, size);
  }
  static int sync(sqlite3_file* file, int flags) {
    sqlite3_file* b = base(file);
    return b->pMethods->xSync(b, flags);
  }
  static int file_size(sqlite3_file* file, sqlite3_int64* size) {
    sqlite3_file* b = base(file);
    return b->pMethods->xFileSize(b, size);
  }
  static int lock(sqlite3_file* file, int level) {
    sqlite3_file* b = base(file);
    return b->pMethods->xLock(b, level);
  }
  static int unlock(sqlite3_file* file, int level) {
    sqlite3_file* b = base(file);
    return b->pMethods->xUnlock(b, level);
  }
  static int check_reserved_lock(sqlite3_file* file, int* out) {
    sqlite3_file* b = base(file);
    return b->pMethods->xCheckReservedLock(b, out);
  }
  static int file_control(sqlite3_file* file, int op, void* argument) {
    sqlite3_file* b = base(file);
    return b->pMethods->xFileControl(b, op, argument);
  }
  static int sector_size(sqlite3_file* file) {
    sqlite3_file* b = base(file);
    return b->pMethods->xSectorSize(b);
  }
  static int device_characteristics(sqlite3_file* file) {
    sqlite3_file* b = base(file);
    return b->pMethods->xDeviceCharacteristics(b);
  }
  static int shm_map(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
    sqlite3_file* b = base(file);
    return b->pMethods->xShmMap(b, page, page_size, extend, out);
  }
  static int shm_lock(sqlite3_file* file, int offset, int n, int flags) {
    sqlite3_file* b = base(file);
    return b->pMethods->xShmLock(b, offset, n, flags);
  }
  static void shm_barrier(sqlite3_file* file) {
    sqlite3_file* b = base(file);
    b->pMethods->xShmBarrier(b);
  }
  static int shm_unmap(sqlite3_file* file, int delete_flag) {
    sqlite3_file* b = base(file);
    return b->pMethods->xShmUnmap(b, delete_flag);
  }
  // A base of io version 1 or 2 maps nothing: SQLite then reads with xRead.
  static int fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
    sqlite3_file* b = base(file);
    if (b->pMethods->iVersion < 3) {
      *out = nullptr;
      return SQLITE_OK;
    }
    return b->pMethods->xFetch(b, offset, amount, out);
  }
  static int unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
    sqlite3_file* b = base(file);
    if (b->pMethods->iVersion < 3) return SQLITE_OK;
    return b->pMethods->xUnfetch(b, offset, page);
  }
};

// The methods a wrapper forwards as they are (wrap_vfs sets them).
namespace vfs_forwarding {

inline sqlite3_vfs* base_of(sqlite3_vfs* vfs) {
  return static_cast<WrappedVfs*>(vfs->pAppData)->base;
}

inline int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xDelete(base, name, sync_dir);
}
inline int x_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xAccess(base, name, flags, out);
}
inline int x_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xFullPathname(base, name, size, out);
}
inline void* x_dl_open(sqlite3_vfs* vfs, const char* name) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xDlOpen(base, name);
}
inline void x_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  sqlite3_vfs* base = base_of(vfs);
  base->xDlError(base, size, out);
}
inline void (*x_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xDlSym(base, handle, symbol);
}
inline void x_dl_close(sqlite3_vfs* vfs, void* handle) {
  sqlite3_vfs* base = base_of(vfs);
  base->xDlClose(base, handle);
}
inline int x_randomness(sqlite3_vfs* vfs, int size, char* out) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xRandomness(base, size, out);
}
inline int x_sleep(sqlite3_vfs* vfs, int microseconds) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xSleep(base, microseconds);
}
inline int x_current_time(sqlite3_vfs* vfs, double* out) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xCurrentTime(base, out);
}
// The unix VFS answers with errno: what a wrapper's failed call left there.
inline int x_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xGetLastError(base, size, out);
}
inline int x_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  sqlite3_vfs* base = base_of(vfs);
  return base->xCurrentTimeInt64(base, out);
}

}  // namespace vfs_forwarding

// Makes `vfs` a VFS named `name` (borrowed: it must outlive the VFS) that
// wraps `wrapped.base`: its files are `header_bytes` of the wrapper's own,
// then the base's file (wrapped_file), and every method but xOpen, which
// the caller sets, calls the base's. iVersion 2: version 3 adds only the
// system-call overrides of SQLite's own tests. The caller registers it.
// REQUIRES: wrapped.base has iVersion 2 or later.
inline void wrap_vfs(sqlite3_vfs& vfs, WrappedVfs& wrapped, const char* name,
                     std::size_t header_bytes) {
  vfs = sqlite3_vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(wrapped_file_offset(header_bytes)) + wrapped.base->szOsFile;
  vfs.mxPathname = wrapped.base->mxPathname;
  vfs.zName = name;
  vfs.pAppData = &wrapped;
  vfs.xDelete = vfs_forwarding::x_delete;
  vfs.xAccess = vfs_forwarding::x_access;
  vfs.xFullPathname = vfs_forwarding::x_full_pathname;
  vfs.xDlOpen = vfs_forwarding::x_dl_open;
  vfs.xDlError = vfs_forwarding::x_dl_error;
  vfs.xDlSym = vfs_forwarding::x_dl_sym;
  vfs.xDlClose = vfs_forwarding::x_dl_close;
  vfs.xRandomness = vfs_forwarding::x_randomness;
  vfs.xSleep = vfs_forwarding::x_sleep;
  vfs.xCurrentTime = vfs_forwarding::x_current_time;
  vfs.xGetLastError = vfs_forwarding::x_get_last_error;
  vfs.xCurrentTimeInt64 = vfs_forwarding::x_current_time_int64;
}

}  // namespace blobcache::detail
