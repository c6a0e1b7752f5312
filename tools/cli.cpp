#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "blobcache/error.hpp"
#include "blobcache/names.hpp"
#include "blobcache/sqlite_store.hpp"
#include "blobcache/version.hpp"

#include "parse.hpp"
#include "report.hpp"

namespace blobcache::tool {
namespace {

// What CLI11 fills in; converted to a Command once parsing succeeded, so
// that durations, times and names are checked in one place.
struct RawArguments {
  std::string ns, key, input = "-", output, ttl, expires_at, content_type, if_match;
  std::string max_bytes, max_entries, eviction;
  std::vector<std::string> meta;
  bool if_absent = false;
  bool force = false;
  bool deep = false;
  bool zero = false;
  bool none = false;
};

// One page of the cache file: the least Limits::max_bytes may be but 0
// (sqlite_store.hpp). set_limits() checks it too; here it is a usage error
// before any file is opened.
constexpr std::int64_t kMinMaxBytes = std::int64_t{4} * 1024;

constexpr const char* kSizeUnits =
    "SIZE is bytes, or a number with a unit in any case: K, M, G, T (or KiB, MiB, GiB, TiB) "
    "are powers of 1024, KB, MB, GB, TB powers of 1000; 1.5G is allowed";

constexpr const char* kDescription =
    "Inspect and edit a blobcache SQLite cache file.\n"
    "Exit codes: 0 ok, 1 not found (entry, namespace or cache file), 2 usage error\n"
    "(including a bad limit: nothing changed), 3 other failure, 4 put's --if-match or\n"
    "--if-absent did not hold (nothing written).\n"
    "With --json, a failure also prints {\"error\": {\"code\", \"message\", \"exit_code\"}} on "
    "stdout.";

// `value` when the command has the option `name` and it was given.
std::optional<std::string> if_given(const CLI::App& app, const char* name,
                                    const std::string& value) {
  const CLI::Option* option = app.get_option_no_throw(name);
  if (option == nullptr || option->count() == 0) return std::nullopt;
  return value;
}

// K=V, split at the first '=' (values may contain '='; names may be
// empty, as the API allows).
std::pair<std::string, std::string> split_meta(const std::string& text) {
  const std::size_t equals = text.find('=');
  if (equals == std::string::npos) {
    throw ParseError("--meta \"" + text + "\": expected NAME=VALUE");
  }
  return {text.substr(0, equals), text.substr(equals + 1)};
}

// An etag as the store computes them: 64 lowercase hex digits. Checked here
// so that a typo is a usage error before any file is opened.
std::string checked_etag(const std::string& text) {
  const bool hex =
      text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!hex) {
    throw ParseError("--if-match \"" + text +
                     "\": expected an etag, 64 lowercase hex digits as put and ls --json print "
                     "(--if-absent asks for no entry)");
  }
  return text;
}

// `parse(text)`, its ParseError naming the option.
template <typename Parse>
auto option_value(const char* option, Parse parse, const std::string& text) {
  try {
    return parse(text);
  } catch (const ParseError& error) {
    throw ParseError(std::string("limit ") + option + ": " + error.what());
  }
}

std::int64_t checked_max_bytes(const std::string& text) {
  const std::int64_t bytes = option_value("--max-bytes", parse_size, text);
  if (bytes != 0 && bytes < kMinMaxBytes) {
    throw ParseError("limit --max-bytes \"" + text + "\": " + std::to_string(bytes) +
                     " bytes is below one page of the cache file (4 KiB, " +
                     std::to_string(kMinMaxBytes) + " bytes); 0 means no bound");
  }
  return bytes;
}

LimitCommand limit_command(const CLI::App& sub, const RawArguments& raw) {
  LimitCommand limit{.none = raw.none};
  if (sub.count("--max-bytes") != 0) limit.max_bytes = checked_max_bytes(raw.max_bytes);
  if (sub.count("--max-entries") != 0) {
    limit.max_entries = option_value("--max-entries", parse_count, raw.max_entries);
  }
  if (sub.count("--eviction") != 0) {
    limit.eviction = option_value("--eviction", parse_eviction, raw.eviction);
  }
  return limit;
}

// Bad names are the library's Error, with the command in front.
void validate_arguments(const std::string& command, const std::optional<std::string>& ns,
                        const std::optional<std::string>& key) {
  try {
    if (ns) validate_namespace(*ns);
    if (key) validate_key(*key);
  } catch (const Error& error) {
    throw Error(error.code(), command + ": " + error.what());
  }
}

Command to_command(const CLI::App& sub, const RawArguments& raw) {
  const std::string& name = sub.get_name();
  const auto ns_option = if_given(sub, "namespace", raw.ns);
  validate_arguments(name, ns_option, if_given(sub, "key", raw.key));

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
    if (sub.count("--ttl") != 0) {
      put.ttl = parse_duration(raw.ttl);
      // Checked again against the run's own now; here so that nothing is
      // opened for a ttl that cannot be stored.
      (void)expiry_after(std::chrono::system_clock::now(), *put.ttl);
    }
    if (sub.count("--expires-at") != 0) put.options.expires_at = parse_time(raw.expires_at);
    put.options.content_type = raw.content_type;
    for (const std::string& pair : raw.meta) {
      auto [meta_name, value] = split_meta(pair);
      put.options.metadata.insert_or_assign(std::move(meta_name), std::move(value));
    }
    if (sub.count("--if-match") != 0) put.options.if_match = checked_etag(raw.if_match);
    if (raw.if_absent) put.options.if_match = "";
    return put;
  }
  if (name == "rm") return RmCommand{.ns = raw.ns, .key = raw.key, .force = raw.force};
  if (name == "rm-ns") return RmNsCommand{.ns = raw.ns, .force = raw.force};
  if (name == "clean") {
    return CleanCommand{.ns = ns_option,
                        .ttl = sub.count("--ttl") != 0 ? parse_duration(raw.ttl) : Duration{0}};
  }
  if (name == "info") return InfoCommand{};
  if (name == "stats") return StatsCommand{.zero = raw.zero};
  if (name == "limit") return limit_command(sub, raw);
  if (name == "trim") return TrimCommand{};
  if (name == "compact") return CompactCommand{};
  return CheckCommand{.deep = raw.deep};
}

// True when argv holds --json (before a "--" ending the options).
bool wants_json(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];  // NOLINT: argv is an array
    if (arg == "--") return false;
    if (arg == "--json") return true;
  }
  return false;
}

// The first argument that is neither an option nor --db's value: the
// command the user meant.
std::optional<std::string> first_positional(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];  // NOLINT: argv is an array
    if (arg == "--db") {
      ++i;
    } else if (arg == "--" && i + 1 < argc) {
      return std::string(argv[i + 1]);  // NOLINT: argv is an array
    } else if (!arg.starts_with("-")) {
      return std::string(arg);
    }
  }
  return std::nullopt;
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
      "ls",
      "List namespaces with their entry count and size; with NAMESPACE, its entries (exit 1 "
      "when it holds none: a namespace exists while it holds an entry)");
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
  put->add_option("file", raw.input,
                  "File to store, or - for stdin (the default); never read as --meta");
  CLI::Option* ttl = put->add_option(
      "--ttl", raw.ttl,
      "Expire DURATION after the put (90s, 15m, 2h, 7d, 1h30m; the expiry must fall within " +
          representable_times() + "); 0: never");
  put->add_option("--expires-at", raw.expires_at,
                  "Expire at TIME (RFC 3339, " + representable_times() + ")")
      ->excludes(ttl);
  put->add_option("--content-type", raw.content_type, "MIME type to record");
  put->add_option("--meta", raw.meta,
                  "Metadata NAME=VALUE, one per --meta (repeatable; a repeated NAME keeps its "
                  "last VALUE; NAME may be empty)")
      ->allow_extra_args(false);  // one value per --meta: what follows is the FILE
  CLI::Option* if_match =
      put->add_option("--if-match", raw.if_match,
                      "Store only if the entry's etag is ETAG, else exit 4 and write nothing");
  put->add_flag("--if-absent", raw.if_absent,
                "Store only if there is no entry, else exit 4 and write nothing")
      ->excludes(if_match);

  CLI::App* rm = app.add_subcommand("rm", "Remove an entry (exit 1 when there is none, unless -f)");
  rm->add_option("namespace", raw.ns, "Namespace")->required();
  rm->add_option("key", raw.key, "Key")->required();
  rm->add_flag("-f,--force", raw.force, "A missing entry is not an error");

  CLI::App* rm_ns = app.add_subcommand(
      "rm-ns", "Remove every entry of a namespace (exit 1 when it holds none, unless -f)");
  rm_ns->add_option("namespace", raw.ns, "Namespace")->required();
  rm_ns->add_flag("-f,--force", raw.force, "A missing namespace is not an error");

  CLI::App* clean = app.add_subcommand(
      "clean", "Erase expired entries of NAMESPACE (default: every namespace); prints how many");
  clean->add_option("namespace", raw.ns, "Namespace to clean");
  clean->add_option("--ttl", raw.ttl,
                    "Entries without an expiry time expire DURATION after their last put "
                    "(default and 0: never)");

  app.add_subcommand("info", "Describe the store and the sizes of its files");

  CLI::App* check = app.add_subcommand("check", "Check that the store is usable");
  check->add_flag("--deep", raw.deep,
                  "Re-read every entry and compare its bytes with its etag (reads the whole file)");

  CLI::App* stats = app.add_subcommand(
      "stats",
      "Hits, misses, hit rate, evictions, expirations, entries, bytes, file size and limits, "
      "in total and per namespace (like ccache -s)");
  stats->add_flag("-z,--zero", raw.zero,
                  "Zero the counters (hits, misses, evictions, expirations; not entries or "
                  "bytes) first, then print");

  CLI::App* limit = app.add_subcommand(
      "limit",
      "Set limits, kept in the file for every process (evicts at once what they leave no room "
      "for; options not given keep their value), and print the limits in force; without "
      "options only print them");
  CLI::Option* max_bytes =
      limit
          ->add_option(
              "--max-bytes", raw.max_bytes,
              std::string(
                  "Bound the values' total size to SIZE (0: no bound; else at least 4 KiB). ") +
                  kSizeUnits)
          ->type_name("SIZE");
  CLI::Option* max_entries = limit
                                 ->add_option("--max-entries", raw.max_entries,
                                              "Bound the number of entries (0: no bound)")
                                 ->type_name("N");
  CLI::Option* eviction = limit
                              ->add_option("--eviction", raw.eviction,
                                           "What goes first once expired entries are gone: lrs "
                                           "(least recently stored, the default) "
                                           "or lru (least recently used)")
                              ->type_name("lrs|lru");
  limit->add_flag("--none", raw.none, "Remove both bounds (the eviction policy is kept)")
      ->excludes(max_bytes)
      ->excludes(max_entries)
      ->excludes(eviction);

  app.add_subcommand("trim",
                     "Evict now, down to 90 % of the limits (expired entries first, then by the "
                     "policy), as the store does in the background; prints what it removed");
  app.add_subcommand("compact",
                     "Give the file's free pages back to the filesystem and empty the WAL "
                     "(an incremental vacuum: time in proportion to the free pages; a file "
                     "made by an older blobcache is rewritten once by VACUUM, which needs up "
                     "to its size in free disk space; other writers wait); prints the size "
                     "before and after");

  // --json asks for a JSON error too, even when parsing stops before it.
  std::ostream* json_out = wants_json(argc, argv) ? &out : nullptr;
  const auto usage_error = [&](const std::string& message, bool hint) {
    report({.code = "usage", .message = message, .exit_code = kExitUsage}, err, json_out);
    if (hint) err << "Run 'blobcache --help' for more information.\n";
    return ParseResult{.exit_code = kExitUsage};
  };
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
    if (app.get_subcommands().empty()) {
      // CLI11 says "A subcommand is required" even for a misspelt one.
      const std::optional<std::string> word = first_positional(argc, argv);
      std::string names;
      bool known = false;
      for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
        names += (names.empty() ? "" : ", ") + command->get_name();
        known = known || (word && command->get_name() == *word);
      }
      if (!word) return usage_error("a command is required: one of " + names, true);
      if (!known) {
        return usage_error("unknown command \"" + *word + "\"; the commands are " + names, true);
      }
    }
    return usage_error(error.what(), true);
  } catch (const ParseError& error) {
    return usage_error(error.what(), false);
  } catch (const Error& error) {
    // Only bad names reach here (validate_arguments): exit 2 like any usage
    // error, under the Errc's name.
    const Failure failure = failure_of(error);
    return {.exit_code = report(failure, err, json_out)};
  }
}

std::filesystem::path resolve_db_path(const GlobalOptions& globals) {
  if (globals.db) return *globals.db;
  if (const char* env = std::getenv("BLOBCACHE_DB"); env != nullptr && *env != '\0') return env;
  return SqliteStore::default_path("blobcache");
}

}  // namespace blobcache::tool
