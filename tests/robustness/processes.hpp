// Real child processes for the robustness tests: spawn, wait with a bound,
// kill.
#pragma once

#include <chrono>
#include <cstdlib>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace blobcache::test {

// The worker executable meson passes in BLOBCACHE_WORKER.
inline std::string worker_path() {
  const char* path = std::getenv("BLOBCACHE_WORKER");  // NOLINT(concurrency-mt-unsafe)
  if (path == nullptr) throw std::runtime_error("BLOBCACHE_WORKER is not set");
  return path;
}

// Starts `argv` (argv[0] is the program path, looked up in PATH when it has
// no '/'); returns its pid.
inline pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<std::string> copy = argv;
  std::vector<char*> pointers;
  for (auto& arg : copy) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, copy[0].c_str(), nullptr, nullptr, pointers.data(), environ) != 0) {
    throw std::runtime_error("cannot start " + argv[0]);
  }
  return pid;
}

struct Exit {
  bool exited = false;  // false: killed by a signal, or still running at the deadline
  int code = -1;
  int signal = 0;
};

// Waits up to `limit` for `pid`; kills it (SIGKILL) when the limit passes.
inline Exit wait_for(pid_t pid, std::chrono::seconds limit = std::chrono::seconds(300)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) throw std::runtime_error("waitpid failed");
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFEXITED(status)) return {true, WEXITSTATUS(status), 0};
  return {false, -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0};
}

inline Exit run(const std::vector<std::string>& argv,
                std::chrono::seconds limit = std::chrono::seconds(300)) {
  return wait_for(spawn(argv), limit);
}

// "small" under sanitizers (CI sets BLOBCACHE_TEST_SCALE), else "full".
inline bool small_scale() {
  const char* scale = std::getenv("BLOBCACHE_TEST_SCALE");  // NOLINT(concurrency-mt-unsafe)
  return scale != nullptr && std::string(scale) == "small";
}

}  // namespace blobcache::test
