// Internal: the on-disk schema, its version, and migrations.
#pragma once

#include <cstdint>

#include "sqlite/connection.hpp"

namespace blobcache::detail {

// PRAGMA user_version of the schema this code writes. NEVER change what a
// released version means: files on disk depend on it. A new layout is a new
// version with a migration step.
inline constexpr std::int64_t kSchemaVersion = 1;
// PRAGMA application_id marking a blobcache file ("BlbC").
inline constexpr std::int64_t kApplicationId = 0x426C6243;

// Brings a writable file to kSchemaVersion: switches it to WAL, creates or
// migrates the schema inside one BEGIN IMMEDIATE transaction. Idempotent and
// safe when many processes run it at once. Throws Error(Errc::unsupported)
// for a newer version or another application's file, SQLite::Exception for
// SQLite failures (busy included: the caller retries).
void prepare_schema(Connection& connection, int page_size);

// Checks a file opened read-only: it must already be at kSchemaVersion.
// Throws Error(Errc::unsupported) otherwise.
void check_schema_read_only(Connection& connection);

}  // namespace blobcache::detail
