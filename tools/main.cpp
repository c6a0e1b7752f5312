// blobcache: inspect and edit a blobcache SQLite cache file from the shell.
// Built on the library's public API only.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <unistd.h>

#include "blobcache/sqlite_store.hpp"

#include "cli.hpp"
#include "commands.hpp"
#include "store_url.hpp"

namespace {

using namespace blobcache;

// Every command but a writable put or limit needs an existing file: opening
// creates a missing one, and `blobcache ls` with a mistyped --db should say
// so instead of leaving an empty cache file behind.
bool needs_existing_file(const tool::Invocation& invocation) {
  return invocation.globals.read_only || !tool::creates_file(invocation.command);
}

int run(const tool::Invocation& invocation) {
  std::ostream* json_out = invocation.globals.json ? &std::cout : nullptr;
  std::optional<std::filesystem::path> db;
  try {
    db = tool::resolve_db_path(invocation.globals);
    std::unique_ptr<Store> store;
    if (tool::is_store_url(db->string())) {  // a server, not a file
      const std::string url = db->string();
      db = tool::without_password(url);  // what messages show
      store = tool::open_url_store(
          url, invocation.globals.read_only && !tool::is_read_only(invocation.command));
    } else {
      std::error_code error;
      if (needs_existing_file(invocation) && !std::filesystem::exists(*db, error)) {
        return tool::report({.code = "not_found",
                             .message = "open: the cache file does not exist",
                             .exit_code = tool::kExitNotFound},
                            std::cerr, json_out, db);
      }
      // raise, not quarantine: a tool asked to look at a file must never move
      // it aside and start an empty one.
      store = std::make_unique<SqliteStore>(SqliteOptions{
          .path = *db,
          .read_only = invocation.globals.read_only,
          .on_corruption = OnCorruption::raise,
      });
    }
    tool::Context context{
        .store = *store,
        .db = *db,
        .json = invocation.globals.json,
        .in = std::cin,
        .out = std::cout,
        .err = std::cerr,
        .now = std::chrono::system_clock::now(),
        .progress = ::isatty(STDERR_FILENO) == 1,
        .sqlite = dynamic_cast<SqliteStore*>(store.get()),  // null for a server
    };
    return tool::run(context, invocation.command);
  } catch (const std::exception& error) {
    return tool::report(tool::failure_of(error), std::cerr, json_out, db);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Unsynchronised streams are buffered: get and put move whole files
  // through std::cout and std::cin.
  std::ios::sync_with_stdio(false);
  const tool::ParseResult parsed = tool::parse_command_line(argc, argv, std::cout, std::cerr);
  if (!parsed.invocation) return parsed.exit_code;
  const int code = run(*parsed.invocation);
  std::cout.flush();
  return code;
}
