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

#include "report.hpp"

namespace blobcache::tool {

struct LsCommand {
  // none: every namespace with its totals; set: its entries (a namespace
  // without entries does not exist: exit 1, like rm-ns)
  std::optional<std::string> ns;
};
struct GetCommand {
  std::string ns, key;
  std::optional<std::filesystem::path> output;  // none: Context::out
};
struct PutCommand {
  std::string ns, key;
  std::string input = "-";  // a file path, or "-" for Context::in
  // expires_at from --expires-at; if_match from --if-match ("" from
  // --if-absent): a failed condition exits kExitPreconditionFailed
  PutOptions options;
  // --ttl: expires_at = Context::now + ttl (a usage error when TimePoint
  // cannot hold it); zero: no expiry, as for clean --ttl and Policy
  std::optional<Duration> ttl;
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

// Runs `command`; returns its exit code. Failures are reported through
// report(): on Context::err as "blobcache: <errc name>: <what> (db: <path>)"
// and, with Context::json, as a JSON error object on Context::out.
int run(Context& context, const Command& command);

}  // namespace blobcache::tool
