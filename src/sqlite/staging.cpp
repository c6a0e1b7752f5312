#include "sqlite/staging.hpp"

#include <cerrno>
#include <charconv>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <unistd.h>

namespace blobcache::detail {
namespace {

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot.
// With the pid it names a process even when pids are reused. "" when the
// process does not exist or /proc is absent.
std::string start_time(long pid) {
  const std::string stat = first_line(("/proc/" + std::to_string(pid) + "/stat").c_str());
  const auto paren = stat.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return {};
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
  }
  return field;
}

bool process_exists(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

}  // namespace

std::string staging_owner() {
  const long pid = ::getpid();
  const std::string boot = first_line("/proc/sys/kernel/random/boot_id");
  const std::string started = start_time(pid);
  if (boot.empty() || started.empty()) return std::to_string(pid);
  return boot + ":" + std::to_string(pid) + ":" + started;
}

bool staging_owner_gone(std::string_view owner) {
  const auto first = owner.find(':');
  const auto last = owner.rfind(':');
  const std::string_view pid_text =
      first == std::string_view::npos ? owner : owner.substr(first + 1, last - first - 1);
  long pid = 0;
  const auto [end, error] =
      std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
  if (error != std::errc{} || end != pid_text.data() + pid_text.size() || pid <= 0) return false;
  if (first == std::string_view::npos) return !process_exists(pid);
  // Staged before this boot: its process is gone.
  if (owner.substr(0, first) != first_line("/proc/sys/kernel/random/boot_id")) return true;
  return start_time(pid) != owner.substr(last + 1);
}

}  // namespace blobcache::detail
