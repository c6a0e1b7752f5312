#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "blobcache/error.hpp"
#include "blobcache/names.hpp"
#include "blobcache/sqlite_store.hpp"
#include "blobcache/version.hpp"

#include "parse.hpp"

namespace blobcache::tool {
namespace {

// What CLI11 fills in; converted to a Command once parsing succeeded, so
// that durations, times and names are checked in one place.
struct RawArguments {
  std::string ns, key, input = "-", output, ttl, expires_at, content_type;
  std::vector<std::string> meta;
  bool force = false;
  bool deep = false;
};

constexpr const char* kDescription =
    "Inspect and edit a blobcache SQLite cache file.\n"
    "Exit codes: 0 ok, 1 not found, 2 usage error, 3 other failure.";

// `value` when the command has the option `name` and it was given.
std::optional<std::string> if_given(const CLI::App& app, const char* name,
                                    const std::string& value) {
  const CLI::Option* option = app.get_option_no_throw(name);
  if (option == nullptr || option->count() == 0) return std::nullopt;
  return value;
}

// K=V, split at the first '=' (values may contain '=').
std::pair<std::string, std::string> split_meta(const std::string& text) {
  const std::size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ParseError("--meta \"" + text + "\": expected NAME=VALUE");
  }
  return {text.substr(0, equals), text.substr(equals + 1)};
}

Command to_command(const CLI::App& sub, const RawArguments& raw) {
  const std::string& name = sub.get_name();
  const auto ns_option = if_given(sub, "namespace", raw.ns);
  if (ns_option) validate_namespace(*ns_option);
  if (if_given(sub, "key", raw.key)) validate_key(raw.key);

  if (name == "ls") return LsCommand{.ns = ns_option};
  if (name == "get") {
    return GetCommand{.ns = raw.ns,
                      .key = raw.key,
                      .output = sub.count("--output") != 0
                                    ? std::optional<std::filesystem::path>(raw.output)
                                    : std::nullopt};
  }
  if (name == "put") {
    PutCommand put{.ns = raw.ns, .key = raw.key, .input = raw.input};
    if (sub.count("--ttl") != 0) put.ttl = parse_duration(raw.ttl);
    if (sub.count("--expires-at") != 0) put.options.expires_at = parse_time(raw.expires_at);
    put.options.content_type = raw.content_type;
    for (const std::string& pair : raw.meta) put.options.metadata.insert(split_meta(pair));
    return put;
  }
  if (name == "rm") return RmCommand{.ns = raw.ns, .key = raw.key, .force = raw.force};
  if (name == "rm-ns") return RmNsCommand{.ns = raw.ns, .force = raw.force};
  if (name == "clean") {
    return CleanCommand{.ns = ns_option,
                        .ttl = sub.count("--ttl") != 0 ? parse_duration(raw.ttl) : Duration{0}};
  }
  if (name == "info") return InfoCommand{};
  return CheckCommand{.deep = raw.deep};
}

}  // namespace

ParseResult parse_command_line(int argc, const char* const* argv, std::ostream& out,
                               std::ostream& err) {
  CLI::App app(kDescription, "blobcache");
  GlobalOptions globals;
  RawArguments raw;
  std::string db;

  app.require_subcommand(1);
  // Global options are accepted after the command too: `blobcache ls --json`.
  app.fallthrough();
  app.set_version_flag("--version", std::string(kVersion));
  app.add_option("--db", db,
                 "The cache file, or a Redis server: redis://[user:password@]host:port/db"
                 "?prefix=P or redis+unix:///path?db=N&prefix=P (default: $BLOBCACHE_DB, "
                 "else the user cache folder's blobcache/blobcache.db)");
  app.add_flag("--json", globals.json, "Print one JSON document instead of text");
  app.add_flag("--read-only", globals.read_only, "Open the file read-only; writes fail");

  CLI::App* ls = app.add_subcommand(
      "ls", "List namespaces with their entry count and size; with NAMESPACE, its entries");
  ls->add_option("namespace", raw.ns, "Namespace whose entries to list");

  CLI::App* get = app.add_subcommand("get", "Write an entry's bytes to stdout or a file");
  get->add_option("namespace", raw.ns, "Namespace")->required();
  get->add_option("key", raw.key, "Key")->required();
  get->add_option("-o,--output", raw.output,
                  "Write to FILE (replaced only once the whole value was read)");

  CLI::App* put =
      app.add_subcommand("put", "Store a file or stdin as an entry; prints its metadata");
  put->add_option("namespace", raw.ns, "Namespace")->required();
  put->add_option("key", raw.key, "Key")->required();
  put->add_option("file", raw.input, "File to store, or - for stdin (the default)");
  CLI::Option* ttl =
      put->add_option("--ttl", raw.ttl, "Expire after DURATION (90s, 15m, 2h, 7d, 1h30m)");
  put->add_option("--expires-at", raw.expires_at, "Expire at TIME (RFC 3339)")->excludes(ttl);
  put->add_option("--content-type", raw.content_type, "MIME type to record");
  put->add_option("--meta", raw.meta, "Metadata NAME=VALUE (repeatable)")->take_all();

  CLI::App* rm = app.add_subcommand("rm", "Remove an entry");
  rm->add_option("namespace", raw.ns, "Namespace")->required();
  rm->add_option("key", raw.key, "Key")->required();
  rm->add_flag("-f,--force", raw.force, "A missing entry is not an error");

  CLI::App* rm_ns = app.add_subcommand("rm-ns", "Remove every entry of a namespace");
  rm_ns->add_option("namespace", raw.ns, "Namespace")->required();
  rm_ns->add_flag("-f,--force", raw.force, "A missing namespace is not an error");

  CLI::App* clean = app.add_subcommand(
      "clean", "Erase expired entries of NAMESPACE (default: every namespace); prints how many");
  clean->add_option("namespace", raw.ns, "Namespace to clean");
  clean->add_option("--ttl", raw.ttl,
                    "Entries without an expiry time expire DURATION after their last put "
                    "(default: never)");

  app.add_subcommand("info", "Describe the store and the sizes of its files");

  CLI::App* check = app.add_subcommand("check", "Check that the store is usable");
  check->add_flag("--deep", raw.deep,
                  "Re-read every entry and compare its bytes with its etag (reads the whole file)");

  try {
    app.parse(argc, argv);
    if (globals.json && get->parsed() && get->count("--output") == 0) {
      throw ParseError("get --json needs -o FILE: stdout carries the value");
    }
    if (app.count("--db") != 0) globals.db = db;
    return {.invocation = Invocation{.globals = globals,
                                     .command = to_command(*app.get_subcommands().at(0), raw)}};
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return {.exit_code = app.exit(error, out, err)};
    }
    err << "blobcache: usage: " << error.what()
        << "\nRun 'blobcache --help' for more information.\n";
  } catch (const ParseError& error) {
    err << "blobcache: usage: " << error.what() << '\n';
  } catch (const Error& error) {
    // Only bad names reach here (validate_namespace, validate_key).
    err << "blobcache: " << errc_name(error.errc()) << ": " << error.what() << '\n';
  }
  return {.exit_code = kExitUsage};
}

std::filesystem::path resolve_db_path(const GlobalOptions& globals) {
  if (globals.db) return *globals.db;
  if (const char* env = std::getenv("BLOBCACHE_DB"); env != nullptr && *env != '\0') return env;
  return SqliteStore::default_path("blobcache");
}

}  // namespace blobcache::tool
