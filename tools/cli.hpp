// The command line: CLI11 definitions of every command and their
// translation into a Command (commands.hpp).
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>

#include "commands.hpp"

namespace blobcache::tool {

struct GlobalOptions {
  std::optional<std::filesystem::path> db;  // --db; none: $BLOBCACHE_DB, else the default path
  bool json = false;
  bool read_only = false;
};

struct Invocation {
  GlobalOptions globals;
  Command command;
};

struct ParseResult {
  std::optional<Invocation> invocation;  // none: exit with exit_code
  int exit_code = kExitOk;
};

// Parses argv (argv[0] is the program). --help and --version print to `out`
// and give exit code 0 without an invocation; usage errors (unknown
// commands or options, missing arguments, bad durations, times, names,
// --meta or --if-match, a --ttl whose expiry TimePoint cannot hold) print
// to `err`, and with --json also a JSON error object to `out` (see
// report()), and give kExitUsage.
ParseResult parse_command_line(int argc, const char* const* argv, std::ostream& out,
                               std::ostream& err);

// --db, else $BLOBCACHE_DB when set and non-empty, else
// SqliteStore::default_path("blobcache"). Throws what default_path throws.
std::filesystem::path resolve_db_path(const GlobalOptions& globals);

}  // namespace blobcache::tool
