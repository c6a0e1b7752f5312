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

#include "blobcache/sqlite_store.hpp"
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

struct StatsCommand {
  bool zero = false;  // reset_stats() first: the counters are printed as zeros
};
// Sets the fields given and keeps the others as the file holds them; with
// none given (and not `none`) it only prints the limits. Values are checked
// by SqliteStore::set_limits (the command line checks them before too).
struct LimitCommand {
  std::optional<std::int64_t> max_bytes;  // 0: no bound
  std::optional<std::int64_t> max_entries;
  std::optional<EvictionPolicy> eviction;
  bool none = false;  // both bounds 0 (the eviction policy is kept)
  bool changes() const noexcept { return max_bytes || max_entries || eviction || none; }
};
struct TrimCommand {};
struct CompactCommand {};

using Command = std::variant<LsCommand, GetCommand, PutCommand, RmCommand, RmNsCommand,
                             CleanCommand, InfoCommand, CheckCommand, StatsCommand, LimitCommand,
                             TrimCommand, CompactCommand>;

// True for the commands that never write (and so need no writable store).
bool is_read_only(const Command& command) noexcept;
// True for the commands that may create a missing cache file: put, and a
// limit that sets something (bounding a cache before its first use).
bool creates_file(const Command& command) noexcept;

struct Context {
  Store& store;
  std::filesystem::path db;  // the cache file: named in errors, measured by info
  bool json = false;
  std::istream& in;       // put's "-"
  std::ostream& out;      // results (and get's bytes)
  std::ostream& err;      // diagnostics and the progress bar
  TimePoint now;          // one instant per run: ages and expiry are judged against it
  bool progress = false;  // draw a progress bar on err (err is a terminal)
  // `store` itself when it is a SqliteStore, else null: limit, trim and
  // compact need it and fail with Errc::unsupported without it; stats and
  // info show its eviction policy.
  SqliteStore* sqlite = nullptr;
};

// Runs `command`; returns its exit code. Failures are reported through
// report(): on Context::err as "blobcache: <errc name>: <what> (db: <path>)"
// and, with Context::json, as a JSON error object on Context::out.
int run(Context& context, const Command& command);

}  // namespace blobcache::tool
