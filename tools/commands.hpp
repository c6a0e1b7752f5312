// The tool's commands, written against the Store interface so that they run
// the same on SqliteStore (the tool) and MemoryStore (the unit tests).
//
// Every command writes its result to Context::out (human text or one JSON
// document), its diagnostics to Context::err, and returns an exit code; no
// exception escapes run().
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <variant>

#include "blobcache/store.hpp"

namespace blobcache::tool {

// The tool's exit codes.
enum ExitCode : int {
  kExitOk = 0,
  kExitNotFound = 1,  // the entry, namespace or cache file does not exist
  kExitUsage = 2,     // bad command line (including bad names, durations, times)
  kExitFailure = 3,   // anything else: corrupt, read_only, io, busy, ...
};

struct LsCommand {
  std::optional<std::string> ns;  // none: every namespace with its totals
};
struct GetCommand {
  std::string ns, key;
  std::optional<std::filesystem::path> output;  // none: Context::out
};
struct PutCommand {
  std::string ns, key;
  std::string input = "-";      // a file path, or "-" for Context::in
  PutOptions options;           // expires_at from --expires-at
  std::optional<Duration> ttl;  // --ttl: expires_at = Context::now + ttl
};
struct RmCommand {
  std::string ns, key;
  bool force = false;  // a missing entry is not an error
};
struct RmNsCommand {
  std::string ns;
  bool force = false;
};
struct CleanCommand {
  std::optional<std::string> ns;  // none: every namespace
  Duration ttl{0};
};
struct InfoCommand {};
struct CheckCommand {
  bool deep = false;
};

using Command = std::variant<LsCommand, GetCommand, PutCommand, RmCommand, RmNsCommand,
                             CleanCommand, InfoCommand, CheckCommand>;

// True for the commands that never write (and so need no writable store).
bool is_read_only(const Command& command) noexcept;

struct Context {
  Store& store;
  std::filesystem::path db;  // the cache file: named in errors, measured by info
  bool json = false;
  std::istream& in;       // put's "-"
  std::ostream& out;      // results (and get's bytes)
  std::ostream& err;      // diagnostics and the progress bar
  TimePoint now;          // one instant per run: ages and expiry are judged against it
  bool progress = false;  // draw a progress bar on err (err is a terminal)
};

// Runs `command`; returns its exit code. Library errors are reported on
// Context::err as "blobcache: <errc name>: <what> (db: <path>)".
int run(Context& context, const Command& command);

// Writes the message for `error` and returns its exit code (for errors that
// happen before a command runs, such as opening the store).
int report_error(std::ostream& err, const std::filesystem::path& db, const std::exception& error);

}  // namespace blobcache::tool
