// Real child processes for tests: one way to start one, one way to wait for
// it, one way to run code as an unprivileged user.
//
// The wait policy, the same for every test: wait_for_exit() blocks until the
// child ends and has no deadline of its own. A child that hangs is bounded by
// its test program's Meson timeout, which kills the program's whole process
// group, children included (nothing here moves a child out of it). Tests
// bound their children by events, never by the clock.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <grp.h>
#include <iostream>
#include <map>
#include <optional>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace blobcache::test {

// What a child runs, and where its standard streams go.
struct Command {
  // argv[0] is a path, or a name looked up in PATH.
  std::vector<std::string> argv;
  // Its whole environment; nullopt: this process's.
  std::optional<std::map<std::string, std::string>> env;
  // Empty: inherited. Output files are created (0600) or truncated.
  std::filesystem::path stdin_from;
  std::filesystem::path stdout_to;
  std::filesystem::path stderr_to;
};

// How a child ended.
struct Exit {
  bool exited = false;   // false: ended by a signal
  int code = -1;         // its exit status, when it exited
  int signal = 0;        // the signal that ended it, otherwise
  long max_rss_kib = 0;  // its peak resident set (ru_maxrss)
};

// The value of an environment variable; "" when unset.
inline std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): no thread sets it
  return value != nullptr ? value : "";
}

// This process's environment.
inline std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {  // NOLINT: the C environment
    const std::string text = *entry;
    const std::size_t equals = text.find('=');
    if (equals != std::string::npos) env[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return env;
}

// "small" under sanitizers (CI sets BLOBCACHE_TEST_SCALE): heavy tests shrink.
inline bool small_scale() { return env_or_empty("BLOBCACHE_TEST_SCALE") == "small"; }

// Starts `command`; returns its pid. Throws std::runtime_error when it
// cannot be started.
inline pid_t spawn(const Command& command) {
  std::vector<std::string> args = command.argv;
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  if (command.env) {
    for (const auto& [name, value] : *command.env) env_strings.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (auto& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (!command.stdin_from.empty())
    ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, command.stdin_from.c_str(), O_RDONLY,
                                       0);
  if (!command.stdout_to.empty())
    ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, command.stdout_to.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!command.stderr_to.empty())
    ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, command.stderr_to.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int failed = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(),
                                    command.env ? envp.data() : environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (failed != 0) {
    throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(failed));
  }
  return pid;
}

// Waits until `pid` ends (see the policy above).
inline Exit wait_for_exit(pid_t pid) {
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) != pid) {
    if (errno != EINTR)
      throw std::runtime_error("wait4 failed: " + std::string(std::strerror(errno)));
  }
  Exit exit{.max_rss_kib = usage.ru_maxrss};
  if (WIFEXITED(status)) {
    exit.exited = true;
    exit.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
  }
  return exit;
}

inline Exit run(const Command& command) { return wait_for_exit(spawn(command)); }

// Runs the hidden test case `test_spec` of this very program in a new
// process (a real exec of /proc/self/exe) with `extra_env` added to this
// process's environment. Its Catch2 report goes to /dev/null: its exit
// code says it all.
inline Exit run_self(const std::string& test_spec,
                     const std::map<std::string, std::string>& extra_env = {}) {
  auto env = environment();
  for (const auto& [name, value] : extra_env) env[name] = value;
  return run({.argv = {"/proc/self/exe", test_spec}, .env = env, .stdout_to = "/dev/null"});
}

// Runs `body` in a forked child, which exits with body's return value (1
// when it throws a std::exception, printing why); returns its pid. The
// child has only the forking thread: fork only while no other thread of
// this process may hold a lock the child needs (an allocator's: glibc's is
// guarded across fork, AddressSanitizer's in GCC 12 is not). A store's own
// thread is safe, fork waits for it. Body must not use Catch2 assertions
// (they would report in the child).
template <typename Body>
pid_t in_child(Body body) {
  std::cout.flush();  // or the child's first write to std::cerr flushes a copy
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid != 0) return pid;
  int code = 0;
  try {
    code = body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child %d: %s\n", ::getpid(), e.what());
    code = 1;
  }
  std::_Exit(code);  // the parent's objects are the parent's to destroy
}

// Waits for the child `pid` (see the policy above); its exit code, or -1
// when a signal ended it.
inline int wait_child(pid_t pid) {
  const Exit exit = wait_for_exit(pid);
  return exit.exited ? exit.code : -1;
}

// Runs `body` in a forked child, as the user nobody (65534, no
// supplementary groups) when this process is root, so that permissions
// apply. No exec: the program and its libraries are loaded already, so it
// works wherever the build folder lies and whatever its permissions (the
// paths body uses must be reachable by nobody: a test makes its TempDir
// searchable). The child's exit code is body's return value; 125 when it
// could not drop its privileges; 126 when body threw. Body must not use
// Catch2 assertions (they would report in the child): it reports through
// its return value and stderr.
inline Exit run_unprivileged(const std::function<int()>& body) {
  std::cout.flush();  // or the child's first write to std::cerr flushes a copy
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int code = 125;
    if (::geteuid() != 0 ||
        (::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0 && ::setuid(65534) == 0)) {
      try {
        code = body();
      } catch (...) {
        code = 126;
      }
    }
    std::_Exit(code);  // the parent's objects are the parent's to destroy
  }
  return wait_for_exit(pid);
}

}  // namespace blobcache::test
