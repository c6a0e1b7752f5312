#include "sqlite/files.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "sqlite/sqlite_error.hpp"

namespace blobcache::detail {
namespace {

std::string os_error(int error) { return std::strerror(error); }  // NOLINT(concurrency-mt-unsafe)

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path, int error) {
  throw_error(errc_of_errno(error), "open " + path.string() + ": " + what + ": " + os_error(error));
}

std::filesystem::path folder_of(const std::filesystem::path& file) {
  const auto parent = file.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// statfs f_type values (linux/magic.h and the filesystems' own sources) of
// filesystems whose byte-range locks SQLite cannot rely on: a lock is
// advisory on the server, lost on a reconnect, or not coherent with other
// clients' page caches.
constexpr std::array<std::pair<unsigned long, std::string_view>, 16> kNetworkFilesystems = {{
    {0x6969, "NFS"},
    {0x517B, "SMB"},
    {0xFE534D42, "SMB2"},
    {0xFF534D42, "CIFS"},
    {0x01021997, "9p"},
    {0x5346414F, "AFS"},
    {0x6B414653, "kAFS"},
    {0x00C36400, "Ceph"},
    {0x73757245, "Coda"},
    {0x47504653, "GPFS"},
    {0x0BD00BD0, "Lustre"},
    {0x19830326, "BeeGFS"},
    {0x20030528, "OrangeFS"},
    {0xAAD7AAEA, "PanFS"},
    {0x564C, "NCP"},
    {0x786F4256, "VirtualBox shared folder"},
}};

constexpr unsigned long kFuse = 0x65735546;

// FUSE filesystems that reach a server (the part after "fuse." in
// /proc/self/mountinfo; "fuseblk" and local ones like "fuse.bindfs" pass).
constexpr std::array<std::string_view, 24> kNetworkFuse = {
    "sshfs",     "s3fs",          "rclone",    "gcsfuse",   "goofys", "glusterfs",
    "ceph-fuse", "ceph",          "smbnetfs",  "curlftpfs", "davfs",  "blobfuse",
    "blobfuse2", "juicefs",       "mfs",       "lizardfs",  "s3ql",   "ossfs",
    "cosfs",     "mountpoint-s3", "seaweedfs", "beegfs",    "cvmfs",  "afuse",
};

// The type of the mount holding device `device`, from /proc/self/mountinfo
// ("fuse.sshfs"); "" when not found.
std::string mount_type_of(dev_t device) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  const std::string wanted = std::to_string(major(device)) + ":" + std::to_string(minor(device));
  for (std::string line; std::getline(mountinfo, line);) {
    // "36 35 0:52 / /mnt rw,relatime shared:1 - fuse.sshfs host:/ rw,..."
    std::size_t field_start = 0;
    for (int field = 0; field < 2; ++field) field_start = line.find(' ', field_start) + 1;
    if (field_start == 0 || line.compare(field_start, wanted.size() + 1, wanted + " ") != 0)
      continue;
    const auto separator = line.find(" - ");
    if (separator == std::string::npos) continue;
    const auto type_start = separator + 3;
    return line.substr(type_start, line.find(' ', type_start) - type_start);
  }
  return {};
}

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

std::int64_t file_bytes(const std::filesystem::path& file) noexcept {
  std::int64_t total = 0;
  for (const std::string& name : {file.string(), file.string() + "-wal"}) {
    struct stat status {};
    if (::stat(name.c_str(), &status) == 0) total += status.st_size;
  }
  return total;
}

bool place_is_read_only(const std::filesystem::path& file) noexcept {
  if (::access(file.c_str(), F_OK) == 0) return ::access(file.c_str(), W_OK) != 0;
  return ::access(folder_of(file).c_str(), W_OK) != 0;
}

std::string_view network_filesystem_name(unsigned long f_type,
                                         std::string_view fuse_type) noexcept {
  if (f_type == kFuse) {
    constexpr std::string_view kPrefix = "fuse.";
    if (!fuse_type.starts_with(kPrefix)) return {};
    const std::string_view subtype = fuse_type.substr(kPrefix.size());
    for (const std::string_view network : kNetworkFuse) {
      if (subtype == network) return fuse_type;
    }
    return {};
  }
  for (const auto& [type, name] : kNetworkFilesystems) {
    if (f_type == type) return name;
  }
  return {};
}

void require_local_filesystem(const std::filesystem::path& file) {
  // The file itself when it exists (it may be a link to another mount).
  const std::filesystem::path place = ::access(file.c_str(), F_OK) == 0 ? file : folder_of(file);
  struct statfs info {};
  if (::statfs(place.c_str(), &info) != 0) return;  // open reports a missing folder
  const auto type = static_cast<unsigned long>(info.f_type);
  std::string fuse_type;
  struct stat status {};
  if (type == kFuse && ::stat(place.c_str(), &status) == 0)
    fuse_type = mount_type_of(status.st_dev);
  const std::string_view name = network_filesystem_name(type, fuse_type);
  if (name.empty()) return;
  std::array<char, 16> hex{};
  std::snprintf(hex.data(), hex.size(), "0x%lX", type);
  throw_error(
      Errc::unsupported,
      "open " + file.string() + ": the file is on " + std::string(name) +
          ", a network filesystem (statfs type " + hex.data() +
          "), whose locks SQLite cannot rely on (set SqliteOptions::allow_network_filesystem to "
          "open it anyway)");
}

ReadOnlyOpen read_only_open_mode(const std::filesystem::path& file) {
  const std::string shm = file.string() + "-shm";
  if (::access(shm.c_str(), F_OK) == 0) return ReadOnlyOpen::shared;
  if (::access(folder_of(file).c_str(), W_OK) == 0) return ReadOnlyOpen::shared;
  const std::string wal = file.string() + "-wal";
  struct stat status {};
  if (::stat(wal.c_str(), &status) == 0 && status.st_size > 0) {
    throw_error(Errc::read_only,
                "open " + file.string() + " read-only: its folder cannot be written and " + wal +
                    " holds transactions that only a writable open can fold into the file");
  }
  return ReadOnlyOpen::immutable;
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
  for (const char* suffix : {"-wal", "-shm", "-changes"}) {
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
