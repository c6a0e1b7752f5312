#include "sqlite/files.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <vector>

#include "errors.hpp"

namespace blobcache::detail {
namespace {

std::string os_error(int error) { return std::strerror(error); }  // NOLINT(concurrency-mt-unsafe)

Errc errc_of_errno(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
    case EROFS:
      return Errc::read_only;
    case ENOSPC:
    case EDQUOT:
      return Errc::no_space;
    default:
      return Errc::io;
  }
}

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path, int error) {
  throw_error(errc_of_errno(error), "open " + path.string() + ": " + what + ": " + os_error(error));
}

std::filesystem::path folder_of(const std::filesystem::path& file) {
  const auto parent = file.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// statfs f_type values of filesystems whose byte-range locks are unreliable.
constexpr std::array<unsigned long, 9> kNetworkFilesystems = {
    0x6969,      // NFS
    0x517B,      // SMB
    0xFE534D42,  // SMB2
    0xFF534D42,  // CIFS
    0x01021997,  // 9p (v9fs)
    0x5346414F,  // AFS
    0x00C36400,  // Ceph
    0x73757245,  // Coda
    0x47504653,  // GPFS
};

}  // namespace

void create_file_private(const std::filesystem::path& file) {
  // Create missing folders outermost first, each 0700; never chmod an
  // existing one (that would widen or narrow what its owner chose).
  std::vector<std::filesystem::path> missing;
  for (auto folder = folder_of(file); !folder.empty(); folder = folder.parent_path()) {
    std::error_code ignored;
    if (std::filesystem::exists(folder, ignored)) break;
    missing.push_back(folder);
    if (folder == folder.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
      fail("creating folder " + it->string(), file, errno);
  }
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail("creating the file", file, errno);
  ::close(fd);
}

bool place_is_read_only(const std::filesystem::path& file) noexcept {
  if (::access(file.c_str(), F_OK) == 0) return ::access(file.c_str(), W_OK) != 0;
  return ::access(folder_of(file).c_str(), W_OK) != 0;
}

void require_local_filesystem(const std::filesystem::path& file) {
  struct statfs info {};
  if (::statfs(folder_of(file).c_str(), &info) != 0) return;  // open reports a missing folder
  for (const unsigned long type : kNetworkFilesystems) {
    if (static_cast<unsigned long>(info.f_type) == type) {
      throw_error(Errc::unsupported,
                  "open " + file.string() +
                      ": the file is on a network filesystem, whose locks SQLite cannot rely on "
                      "(set SqliteOptions::allow_network_filesystem to open it anyway)");
    }
  }
}

std::filesystem::path quarantine_files(const std::filesystem::path& file) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::array<char, 32> stamp{};
  std::strftime(stamp.data(), stamp.size(), "%Y%m%dT%H%M%SZ", &utc);
  std::string target = file.string() + ".corrupt-" + stamp.data();
  // Two quarantines within a second must not overwrite each other.
  for (int n = 1; ::access(target.c_str(), F_OK) == 0; ++n) {
    target = file.string() + ".corrupt-" + stamp.data() + "-" + std::to_string(n);
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string from = file.string() + suffix;
    if (::rename(from.c_str(), (target + suffix).c_str()) != 0 && errno != ENOENT) {
      fail("quarantining " + from, file, errno);
    }
  }
  if (::rename(file.c_str(), target.c_str()) != 0)
    fail("quarantining the corrupt file", file, errno);
  return target;
}

}  // namespace blobcache::detail
