#pragma once

#include <string>

namespace blobcache::detail {

// The name of an SQLite VFS that wraps the VFS `base` (empty: the default
// one) and writes each transaction's WAL frames with one write call where
// SQLite makes two per frame (its 24-byte header, then the page).
//
// Why: with synchronous = NORMAL a commit costs no fsync, so a small put's
// time goes into the kernel's write path, and half of its write calls are
// frame headers. How it stays safe (docs/design.md, "WAL writes"):
//  - frames wait in the WAL file's buffer only while SQLite appends frames;
//    the write of a commit frame's page (its header says so) writes the
//    buffer before it returns, so a commit is in the file, and its errors
//    are reported, before SQLite publishes it in the WAL index;
//  - every other call on the WAL file (a read, a sync, its size, a write
//    elsewhere, close) writes the buffer first;
//  - when the connection gives up the WAL write lock, what is still
//    buffered belongs to no commit (a transaction that spilled pages and
//    rolled back) and is dropped, so it can never land over frames another
//    connection writes next.
// Registered once per base VFS, for the life of the process. Thread-safe.
// Throws blobcache::Error (io_error) when `base` does not exist.
std::string wal_coalescing_vfs(const std::string& base);

}  // namespace blobcache::detail
