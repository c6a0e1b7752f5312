// Runs the real blobcache binary (its path in $BLOBCACHE_TOOL, set by
// meson) in a child process and collects its exit code and output.
#pragma once

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace blobcache::test {

struct ToolResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

class Tool {
 public:
  // Output is collected through files in `work_dir` (pipes would need a
  // reader thread to avoid deadlock on large outputs such as get's).
  explicit Tool(std::filesystem::path work_dir) : work_dir_(std::move(work_dir)) {
    const char* path = std::getenv("BLOBCACHE_TOOL");
    if (path == nullptr || *path == '\0') throw std::runtime_error("BLOBCACHE_TOOL is not set");
    binary_ = path;
    // Keep the user's real cache out of reach: the default path lands in
    // the test's folder.
    env_["XDG_CACHE_HOME"] = (work_dir_ / "xdg").string();
    env_["HOME"] = work_dir_.string();
    env_.erase("BLOBCACHE_DB");
  }

  void set_env(const std::string& name, const std::string& value) { env_[name] = value; }

  // Runs the tool with `args`; stdin is `input` (or /dev/null).
  ToolResult run(const std::vector<std::string>& args,
                 const std::filesystem::path& input = "/dev/null") const {
    const auto out_path = work_dir_ / "tool.stdout";
    const auto err_path = work_dir_ / "tool.stderr";
    std::vector<std::string> env_strings;
    for (const auto& [name, value] : env_) env_strings.push_back(name + "=" + value);
    std::vector<char*> argv{const_cast<char*>(binary_.c_str())};  // NOLINT: execve's signature
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));  // NOLINT
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      const int in = ::open(input.c_str(), O_RDONLY);
      const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in < 0 || out < 0 || err < 0) ::_exit(126);
      ::dup2(in, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      ::execve(binary_.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    ToolResult result;
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_whole_file(out_path);
    result.err = read_whole_file(err_path);
    return result;
  }

 private:
  static std::map<std::string, std::string> inherited_env() {
    std::map<std::string, std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {  // NOLINT: the C environment
      const std::string text = *entry;
      const std::size_t equals = text.find('=');
      if (equals != std::string::npos) env[text.substr(0, equals)] = text.substr(equals + 1);
    }
    return env;
  }

  std::filesystem::path work_dir_;
  std::string binary_;
  // Inherited (sanitizer options, PATH), then overridden per test.
  std::map<std::string, std::string> env_ = inherited_env();
};

}  // namespace blobcache::test
