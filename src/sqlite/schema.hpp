// Internal: the on-disk schema, its version, and migrations.
#pragma once

#include <cstdint>

#include "sqlite/connection.hpp"

namespace blobcache::detail {

// PRAGMA user_version of the schema this code writes. NEVER change what a
// released version means: files on disk depend on it. A new layout is a new
// version with a migration step.
inline constexpr std::int64_t kSchemaVersion = 5;
// PRAGMA auto_vacuum of the files this code creates (INCREMENTAL). Files
// made before it have 0 (NONE) until compact() converts them.
inline constexpr int kIncrementalVacuum = 2;
// PRAGMA application_id marking a blobcache file ("BlbC").
inline constexpr std::int64_t kApplicationId = 0x426C6243;

// A chunk's rowid is (entry id << kChunkSeqBits) | seq: an entry's chunks are
// one rowid range, in order (schema.cpp says why). Part of the file format:
// NEVER change it within a version. The SQL texts spell it out as 24 and
// 16777215 (static_assert in connection.cpp).
inline constexpr int kChunkSeqBits = 24;
inline constexpr std::int64_t kMaxChunksPerValue = std::int64_t{1} << kChunkSeqBits;
inline constexpr std::int64_t kMaxEntryId = (std::int64_t{1} << (63 - kChunkSeqBits)) - 1;

// Brings a writable file to kSchemaVersion: switches it to WAL, creates or
// migrates the schema inside one BEGIN IMMEDIATE transaction. Idempotent and
// safe when many processes run it at once. Throws Error(Errc::unsupported)
// for a newer version or another application's file, SQLite::Exception for
// SQLite failures (busy included: the caller retries).
void prepare_schema(Connection& connection, int page_size);

// Checks a file opened read-only: it must already be at kSchemaVersion.
// Throws Error(Errc::unsupported) otherwise.
void check_schema_read_only(Connection& connection);

// The integrity check at open, cheap enough for every open of a big file:
// the schema parses, the header's page count fits the file (SQLite checks
// that when a read starts: a truncated file is SQLITE_CORRUPT), and
// `PRAGMA quick_check(entries)` walks the entries table and its indexes,
// never a chunk page. Returns "" when sound, else what is wrong. Throws
// SQLite::Exception (SQLITE_CORRUPT/NOTADB for damage SQLite meets first).
// Cost: O(entries), independent of the bytes stored. The full walk is
// quick_check(), run by SqliteStore::check().
std::string check_at_open(Connection& connection);

// PRAGMA quick_check over the whole file: every b-tree page, O(file size).
// Returns "" when sound, else what is wrong.
std::string quick_check(Connection& connection);

}  // namespace blobcache::detail
