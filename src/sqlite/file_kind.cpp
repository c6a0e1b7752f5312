#include "sqlite/file_kind.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <gsl/gsl>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.hpp"
#include "sqlite/connection.hpp"
#include "sqlite/schema.hpp"
#include "sqlite/sqlite_error.hpp"

namespace blobcache::detail {
namespace {

// The SQLite file header (https://www.sqlite.org/fileformat.html#the_database_header).
constexpr std::size_t kHeaderBytes = 100;
constexpr std::string_view kMagic{"SQLite format 3\0", 16};
constexpr std::size_t kApplicationIdOffset = 68;

std::int64_t size_of(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return -1;
  return status.st_size;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::uint32_t big_endian_u32(const std::array<unsigned char, kHeaderBytes>& header,
                             std::size_t at) {
  return (std::uint32_t{header.at(at)} << 24) | (std::uint32_t{header.at(at + 1)} << 16) |
         (std::uint32_t{header.at(at + 2)} << 8) | std::uint32_t{header.at(at + 3)};
}

[[noreturn]] void unreadable(const std::filesystem::path& file, int error) {
  throw_error(errc_of_errno(error), "open " + file.string() + ": reading its header failed: " +
                                        std::strerror(error));  // NOLINT(concurrency-mt-unsafe)
}

std::string foreign_id(std::uint32_t application_id) {
  std::array<char, 16> hex{};
  std::snprintf(hex.data(), hex.size(), "0x%08X", application_id);
  return std::string("its application_id is ") + hex.data() + ", not blobcache's";
}

// Asks SQLite what the database holds, for a file whose header carries no
// application_id: the header in the main file may be older than the -wal,
// and only SQLite knows the schema. Immutable (no -shm, no locks) unless a
// -wal with content must be read, which takes the -shm every reader of a
// WAL database uses.
FileKind probe_with_sqlite(const std::filesystem::path& file, bool has_wal) {
  FileKind kind;
  const auto failure = attempt([&] {
    SQLite::Database db(
        has_wal ? file.string() : immutable_uri(file),
        SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX | (has_wal ? 0 : SQLite::OPEN_URI));
    // One statement, so one snapshot: read one by one, a blobcache file
    // another process creates meanwhile could show its tables but not yet
    // its application_id, and pass for another program's.
    SQLite::Statement query(db,
                            "SELECT (SELECT application_id FROM pragma_application_id),"
                            " (SELECT user_version FROM pragma_user_version),"
                            " (SELECT count(*) FROM sqlite_master)");
    query.executeStep();
    const auto application_id = query.getColumn(0).getInt64();
    const auto user_version = query.getColumn(1).getInt64();
    const auto objects = query.getColumn(2).getInt64();
    if (application_id == kApplicationId) {
      kind.is = FileKind::Is::blobcache;
    } else if (application_id == 0 && user_version == 0 && objects == 0) {
      kind.is = FileKind::Is::empty;
    } else {
      kind.is = FileKind::Is::foreign;
      if (application_id != 0) {
        kind.reason = foreign_id(gsl::narrow_cast<std::uint32_t>(application_id));
      } else if (objects > 0) {
        kind.reason = "it holds " + std::to_string(objects) +
                      " tables, indexes or triggers and no blobcache application_id";
      } else {
        kind.reason = "its user_version is " + std::to_string(user_version) +
                      " and it has no blobcache application_id";
      }
    }
  });
  if (!failure) return kind;
  if (is_corruption(failure->result_code)) {
    return {.is = FileKind::Is::damaged, .reason = failure->cause};
  }
  if (is_lock_wait(failure->result_code)) return {.is = FileKind::Is::locked, .reason = {}};
  throw_sqlite(Where{.operation = "open", .file = file}, *failure);
}

}  // namespace

FileKind recognise(const std::filesystem::path& file) {
  const std::int64_t size = size_of(file.string());
  const std::int64_t wal_size = size_of(file.string() + "-wal");
  if (size < 0) {
    if (errno == ENOENT) return {};
    unreadable(file, errno);
  }
  if (size == 0) {
    // A WAL database whose first pages were never checkpointed is all -wal.
    return wal_size > 0 ? probe_with_sqlite(file, true) : FileKind{};
  }
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) unreadable(file, errno);
  std::array<unsigned char, kHeaderBytes> header{};
  const ssize_t n = ::pread(fd, header.data(), header.size(), 0);
  const int error = errno;
  ::close(fd);
  if (n < 0) unreadable(file, error);
  if (static_cast<std::size_t>(n) < kHeaderBytes ||
      std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) {
    return {.is = FileKind::Is::damaged, .reason = "it is not an SQLite database"};
  }
  const std::uint32_t application_id = big_endian_u32(header, kApplicationIdOffset);
  if (application_id == kApplicationId) return {.is = FileKind::Is::blobcache, .reason = {}};
  if (application_id != 0) {
    return {.is = FileKind::Is::foreign, .reason = foreign_id(application_id)};
  }
  FileKind kind = probe_with_sqlite(file, wal_size > 0);
  if (wal_size <= 0 && kind.is != FileKind::Is::blobcache && kind.is != FileKind::Is::locked &&
      (exists(file.string() + "-wal") || exists(file.string() + "-shm"))) {
    // A writer started meanwhile: the main file alone may be half a
    // checkpoint. Ask again through the WAL, under SQLite's locks.
    kind = probe_with_sqlite(file, true);
  }
  return kind;
}

}  // namespace blobcache::detail
