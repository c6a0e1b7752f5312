// Runs the real blobcache binary (its path in $BLOBCACHE_TOOL, set by
// meson) in a child process and collects its exit code and output.
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "files.hpp"
#include "processes.hpp"

namespace blobcache::test {

struct ToolResult {
  int code = -1;  // 128 + the signal when one ended it
  std::string out;
  std::string err;
};

class Tool {
 public:
  // Output is collected through files in `work_dir` (pipes would need a
  // reader thread to avoid deadlock on large outputs such as get's).
  explicit Tool(std::filesystem::path work_dir) : work_dir_(std::move(work_dir)) {
    binary_ = env_or_empty("BLOBCACHE_TOOL");
    if (binary_.empty()) throw std::runtime_error("BLOBCACHE_TOOL is not set");
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
    Command command{.argv = {binary_},
                    .env = env_,
                    .stdin_from = input,
                    .stdout_to = work_dir_ / "tool.stdout",
                    .stderr_to = work_dir_ / "tool.stderr"};
    command.argv.insert(command.argv.end(), args.begin(), args.end());
    const Exit exit = test::run(command);
    return {.code = exit.exited ? exit.code : 128 + exit.signal,
            .out = read_file(command.stdout_to),
            .err = read_file(command.stderr_to)};
  }

 private:
  std::filesystem::path work_dir_;
  std::string binary_;
  // Inherited (sanitizer options, PATH), then overridden per test.
  std::map<std::string, std::string> env_ = environment();
};

}  // namespace blobcache::test
