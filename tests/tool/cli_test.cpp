// The command line: what parses into which Command, and what is a usage
// error (exit code 2) or help (exit code 0).
#include "cli.hpp"

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "catch_compat.hpp"
#include "parse.hpp"

namespace blobcache::tool {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  ParseResult result;
  std::string out;
  std::string err;
};

Parsed parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv{"blobcache"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  ParseResult result = parse_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
  return {std::move(result), out.str(), err.str()};
}

TEST_CASE("global options go before or after the command", "[tool][cli]") {
  for (const auto& args : {std::vector<std::string>{"--json", "--db", "/x.db", "ls"},
                           std::vector<std::string>{"ls", "--json", "--db", "/x.db"}}) {
    const Parsed parsed = parse(args);
    REQUIRE(parsed.result.invocation);
    CHECK(parsed.result.invocation->globals.json);
    CHECK(parsed.result.invocation->globals.db == std::filesystem::path("/x.db"));
    CHECK(std::holds_alternative<LsCommand>(parsed.result.invocation->command));
  }
}

TEST_CASE("put reads its options into the Command", "[tool][cli]") {
  const Parsed parsed = parse({"--read-only", "put", "ns", "a/key", "file.bin", "--ttl", "1h30m",
                               "--content-type", "text/plain", "--meta", "a=1", "--meta", "b=x=y"});
  REQUIRE(parsed.result.invocation);
  CHECK(parsed.result.invocation->globals.read_only);
  const auto& put = std::get<PutCommand>(parsed.result.invocation->command);
  CHECK(put.ns == "ns");
  CHECK(put.key == "a/key");
  CHECK(put.input == "file.bin");
  CHECK(put.ttl == 90min);
  CHECK(put.options.content_type == "text/plain");
  CHECK(put.options.metadata == std::map<std::string, std::string>{{"a", "1"}, {"b", "x=y"}});

  const Parsed from_stdin = parse({"put", "ns", "k", "-", "--expires-at", "2026-01-02T03:04:05Z"});
  REQUIRE(from_stdin.result.invocation);
  const auto& put2 = std::get<PutCommand>(from_stdin.result.invocation->command);
  CHECK(put2.input == "-");
  CHECK(put2.options.expires_at.has_value());
}

TEST_CASE("the other commands parse", "[tool][cli]") {
  const auto command = [](std::vector<std::string> args) {
    Parsed parsed = parse(args);
    REQUIRE(parsed.result.invocation);
    return parsed.result.invocation->command;
  };
  CHECK(std::get<LsCommand>(command({"ls", "ns"})).ns == "ns");
  CHECK(std::get<GetCommand>(command({"get", "ns", "k", "-o", "out"})).output ==
        std::filesystem::path("out"));
  CHECK(std::get<RmCommand>(command({"rm", "-f", "ns", "k"})).force);
  CHECK(std::get<RmNsCommand>(command({"rm-ns", "ns"})).ns == "ns");
  const auto clean = std::get<CleanCommand>(command({"clean", "--ttl", "7d"}));
  CHECK_FALSE(clean.ns);
  CHECK(clean.ttl == 7 * 24h);
  CHECK(std::holds_alternative<InfoCommand>(command({"info"})));
  CHECK(std::get<CheckCommand>(command({"check", "--deep"})).deep);
}

TEST_CASE("usage errors give exit code 2 and a message on stderr", "[tool][cli]") {
  const std::vector<std::string> args = GENERATE(
      std::vector<std::string>{}, std::vector<std::string>{"frobnicate"},
      std::vector<std::string>{"get", "ns"}, std::vector<std::string>{"ls", "a", "b"},
      std::vector<std::string>{"put", "ns", "k", "--ttl", "5 parsecs"},
      std::vector<std::string>{"put", "ns", "k", "--ttl", "1h", "--expires-at",
                               "2026-01-02T03:04:05Z"},
      std::vector<std::string>{"put", "ns", "k", "--expires-at", "tomorrow"},
      std::vector<std::string>{"put", "ns", "k", "--meta", "novalue"},
      std::vector<std::string>{"get", "bad//ns", "k"}, std::vector<std::string>{"rm", "ns", "../k"},
      std::vector<std::string>{"check", "--shallow"},
      std::vector<std::string>{"put", "ns", "k", "--if-match", "not-an-etag"},
      std::vector<std::string>{"put", "ns", "k", "--if-match", std::string(64, 'A')},
      std::vector<std::string>{"put", "ns", "k", "--if-absent", "--if-match",
                               std::string(64, 'a')});
  CAPTURE(args);
  const Parsed parsed = parse(args);
  CHECK_FALSE(parsed.result.invocation);
  CHECK(parsed.result.exit_code == kExitUsage);
  CHECK(parsed.err.rfind("blobcache: ", 0) == 0);
  CHECK(parsed.out.empty());
}

TEST_CASE("put --if-match and --if-absent set PutOptions::if_match", "[tool][cli]") {
  const std::string etag(64, 'e');
  const Parsed match = parse({"put", "ns", "k", "--if-match", etag});
  REQUIRE(match.result.invocation);
  CHECK(std::get<PutCommand>(match.result.invocation->command).options.if_match == etag);
  const Parsed absent = parse({"put", "ns", "k", "file", "--if-absent"});
  REQUIRE(absent.result.invocation);
  CHECK(std::get<PutCommand>(absent.result.invocation->command).options.if_match == "");
  const Parsed plain = parse({"put", "ns", "k"});
  REQUIRE(plain.result.invocation);
  CHECK_FALSE(std::get<PutCommand>(plain.result.invocation->command).options.if_match);
  CHECK(parse({"put", "--help"}).out.find("--if-absent") != std::string::npos);
  CHECK(parse({"--help"}).out.find("4 put's --if-match") != std::string::npos);
}

// ---- Regressions of issue 10 (the tool's rough edges, defect 3) ----

TEST_CASE("cli regression: options after the positional arguments, put NS KEY --meta a=1 FILE",
          "[tool][cli][regression]") {
  const Parsed parsed = parse({"put", "ns", "k", "--meta", "a=1", "file.bin"});
  REQUIRE(parsed.result.invocation);
  const auto& put = std::get<PutCommand>(parsed.result.invocation->command);
  CHECK(put.input == "file.bin");
  CHECK(put.options.metadata == std::map<std::string, std::string>{{"a", "1"}});
}

TEST_CASE("cli regression: a file name containing '=' is the FILE, never metadata",
          "[tool][cli][regression]") {
  for (const auto& args :
       {std::vector<std::string>{"put", "ns", "k", "a=b.bin"},
        std::vector<std::string>{"put", "ns", "k", "--meta", "x=1", "a=b.bin"},
        std::vector<std::string>{"put", "ns", "k", "a=b.bin", "--meta", "x=1"}}) {
    CAPTURE(args);
    const Parsed parsed = parse(args);
    REQUIRE(parsed.result.invocation);
    const auto& put = std::get<PutCommand>(parsed.result.invocation->command);
    CHECK(put.input == "a=b.bin");
    CHECK_FALSE(put.options.metadata.contains("a"));
  }
}

TEST_CASE("cli regression: a repeated --meta NAME keeps its last value; NAME may be empty",
          "[tool][cli][regression]") {
  const Parsed parsed = parse({"put", "ns", "k", "--meta", "a=1", "--meta", "=v", "--meta", "a=2"});
  REQUIRE(parsed.result.invocation);
  CHECK(std::get<PutCommand>(parsed.result.invocation->command).options.metadata ==
        std::map<std::string, std::string>{{"", "v"}, {"a", "2"}});
  CHECK(parse({"put", "ns", "k", "--help"}).out.find("last VALUE") != std::string::npos);
}

TEST_CASE("cli regression: an unknown command is named", "[tool][cli][regression]") {
  for (const auto& args : {std::vector<std::string>{"bogus"},
                           std::vector<std::string>{"--db", "/x.db", "--json", "bogus", "ns"}}) {
    CAPTURE(args);
    const Parsed parsed = parse(args);
    CHECK(parsed.result.exit_code == kExitUsage);
    CHECK(parsed.err.find("unknown command \"bogus\"") != std::string::npos);
    CHECK(parsed.err.find("ls, get, put") != std::string::npos);
  }
  CHECK(parse({}).err.find("a command is required") != std::string::npos);
}

TEST_CASE("cli regression: with --json a usage error prints a JSON error object on stdout",
          "[tool][cli][regression]") {
  const std::vector<std::string> args = GENERATE(
      std::vector<std::string>{"--json", "bogus"}, std::vector<std::string>{"--json", "get", "ns"},
      std::vector<std::string>{"ls", "bad//ns", "--json"},
      std::vector<std::string>{"--json", "get", "ns", "k"},
      std::vector<std::string>{"--json", "put", "ns", "k", "--ttl", "99999d"});
  CAPTURE(args);
  const Parsed parsed = parse(args);
  CHECK(parsed.result.exit_code == kExitUsage);
  const nlohmann::json document = nlohmann::json::parse(parsed.out);
  CHECK(document.at("error").at("exit_code") == kExitUsage);
  const std::string code = document.at("error").at("code");
  CHECK((code == "usage" || code == "invalid_namespace"));
  // The same message as on stderr.
  CHECK(parsed.err.find(document.at("error").at("message").get<std::string>()) !=
        std::string::npos);
}

TEST_CASE(
    "cli regression: a --ttl or --expires-at outside TimePoint's range exits 2 with the range",
    "[tool][cli][regression]") {
  const std::vector<std::string> args = GENERATE(
      std::vector<std::string>{"put", "d", "k", "--ttl", "99999d"},
      std::vector<std::string>{"put", "d", "k", "--ttl", "106751d"},
      std::vector<std::string>{"put", "d", "k", "--expires-at", "2262-04-12T00:00:00Z"},
      std::vector<std::string>{"put", "d", "k", "--expires-at", "1677-09-21T00:12:43.145224191Z"});
  CAPTURE(args);
  const Parsed parsed = parse(args);
  CHECK_FALSE(parsed.result.invocation);
  CHECK(parsed.result.exit_code == kExitUsage);
  CHECK(parsed.err.find("1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z") !=
        std::string::npos);
}

TEST_CASE("cli regression: --expires-at 2262-04-11T23:47:16Z is representable and accepted",
          "[tool][cli][regression]") {
  for (const char* time : {"2262-04-11T23:47:16Z", "2262-04-11T23:47:16.854775807Z",
                           "1677-09-21T00:12:43.145224192Z"}) {
    CAPTURE(time);
    const Parsed parsed = parse({"put", "d", "k", "--expires-at", time});
    REQUIRE(parsed.result.invocation);
    CHECK(std::get<PutCommand>(parsed.result.invocation->command).options.expires_at ==
          parse_time(time));
  }
}

TEST_CASE("--help works on the tool and on every command", "[tool][cli]") {
  const std::vector<std::string> args = GENERATE(
      std::vector<std::string>{"--help"}, std::vector<std::string>{"ls", "--help"},
      std::vector<std::string>{"get", "-h"}, std::vector<std::string>{"put", "--help"},
      std::vector<std::string>{"rm", "--help"}, std::vector<std::string>{"rm-ns", "--help"},
      std::vector<std::string>{"clean", "--help"}, std::vector<std::string>{"info", "--help"},
      std::vector<std::string>{"check", "--help"}, std::vector<std::string>{"stats", "--help"},
      std::vector<std::string>{"limit", "--help"}, std::vector<std::string>{"trim", "--help"},
      std::vector<std::string>{"compact", "--help"});
  CAPTURE(args);
  const Parsed parsed = parse(args);
  CHECK_FALSE(parsed.result.invocation);
  CHECK(parsed.result.exit_code == kExitOk);
  CHECK(parsed.out.find("Usage") != std::string::npos);
  if (args.size() == 2) CHECK(parsed.out.find(args[0]) != std::string::npos);
}

TEST_CASE("the cache file comes from --db, then $BLOBCACHE_DB, then the default", "[tool][cli]") {
  CHECK(resolve_db_path(GlobalOptions{.db = "/given.db"}) == "/given.db");
  ::setenv("BLOBCACHE_DB", "/from-env.db", 1);
  CHECK(resolve_db_path(GlobalOptions{}) == "/from-env.db");
  ::setenv("BLOBCACHE_DB", "", 1);
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  CHECK(resolve_db_path(GlobalOptions{}) == "/xdg/blobcache/blobcache.db");
  ::unsetenv("BLOBCACHE_DB");
}

// ---- stats, limit, trim, compact (issue 12) ----

Command parsed_command(const std::vector<std::string>& args) {
  const Parsed parsed = parse(args);
  INFO(parsed.err);
  REQUIRE(parsed.result.invocation);
  return parsed.result.invocation->command;
}

TEST_CASE("stats, trim and compact parse", "[tool][cli]") {
  CHECK_FALSE(std::get<StatsCommand>(parsed_command({"stats"})).zero);
  CHECK(std::get<StatsCommand>(parsed_command({"stats", "--zero"})).zero);
  CHECK(std::get<StatsCommand>(parsed_command({"stats", "-z", "--json"})).zero);
  CHECK(std::holds_alternative<TrimCommand>(parsed_command({"trim"})));
  CHECK(std::holds_alternative<CompactCommand>(parsed_command({"--db", "/x.db", "compact"})));
  // Only stats without --zero and limit without options are read-only.
  CHECK(is_read_only(parsed_command({"stats"})));
  CHECK_FALSE(is_read_only(parsed_command({"stats", "--zero"})));
  CHECK(is_read_only(parsed_command({"limit"})));
  CHECK_FALSE(is_read_only(parsed_command({"limit", "--none"})));
  CHECK_FALSE(is_read_only(parsed_command({"trim"})));
  CHECK_FALSE(is_read_only(parsed_command({"compact"})));
  // A limit that sets something may create the file, like put.
  CHECK(creates_file(parsed_command({"limit", "--max-entries", "10"})));
  CHECK(creates_file(parsed_command({"put", "ns", "k"})));
  CHECK_FALSE(creates_file(parsed_command({"limit"})));
  CHECK_FALSE(creates_file(parsed_command({"stats"})));
  CHECK_FALSE(creates_file(parsed_command({"trim"})));
}

TEST_CASE("limit reads sizes, counts and policies into the Command", "[tool][cli]") {
  const auto limit = [](std::vector<std::string> args) {
    args.insert(args.begin(), "limit");
    return std::get<LimitCommand>(parsed_command(args));
  };
  const LimitCommand none_given = limit({});
  CHECK_FALSE(none_given.changes());
  CHECK_FALSE(none_given.max_bytes);

  const LimitCommand all =
      limit({"--max-bytes", "500M", "--max-entries", "1000", "--eviction", "lru"});
  CHECK(all.max_bytes == std::int64_t{500} << 20);
  CHECK(all.max_entries == 1000);
  CHECK(all.eviction == EvictionPolicy::least_recently_used);
  CHECK_FALSE(all.none);

  CHECK(limit({"--max-bytes", "4096"}).max_bytes == 4096);  // one page: the least
  CHECK(limit({"--max-bytes", "16K"}).max_bytes == 16384);
  CHECK(limit({"--max-bytes=2GB"}).max_bytes == 2'000'000'000);
  CHECK(limit({"--max-bytes", "1.5GiB"}).max_bytes == std::int64_t{3} << 29);
  CHECK(limit({"--max-bytes", "0"}).max_bytes == 0);  // no bound on bytes
  CHECK(limit({"--max-entries", "0"}).max_entries == 0);
  CHECK(limit({"--eviction", "lrs"}).eviction == EvictionPolicy::least_recently_stored);
  CHECK(limit({"--eviction", "least_recently_used"}).eviction ==
        EvictionPolicy::least_recently_used);
  const LimitCommand none = limit({"--none"});
  CHECK(none.none);
  CHECK(none.changes());
  CHECK_FALSE(none.max_bytes);
}

TEST_CASE("limit's bad input exits 2 with the reason", "[tool][cli]") {
  struct Bad {
    std::vector<std::string> args;
    std::string reason;
  };
  const Bad bad = GENERATE(
      Bad{{"--max-bytes", "-1"}, "limit --max-bytes: size \"-1\": must not be negative"},
      Bad{{"--max-bytes=-5M"}, "limit --max-bytes: size \"-5M\": must not be negative"},
      Bad{{"--max-entries", "-3"}, "limit --max-entries: count \"-3\": must not be negative"},
      Bad{{"--max-bytes", "4095"},
          "limit --max-bytes \"4095\": 4095 bytes is below one page of the cache file (4 KiB, "
          "4096 bytes); 0 means no bound"},
      Bad{{"--max-bytes", "1K"}, "1024 bytes is below one page"},
      Bad{{"--max-bytes", "1"}, "1 bytes is below one page"},
      Bad{{"--eviction", "fifo"},
          "limit --eviction: eviction \"fifo\": unknown policy; expected lru "
          "(least_recently_used) or lrs (least_recently_stored)"},
      Bad{{"--none", "--max-bytes", "1M"}, "--max-bytes excludes --none"},
      Bad{{"--max-entries", "5", "--none"}, "excludes"},
      Bad{{"--none", "--eviction", "lru"}, "excludes"},
      Bad{{"--max-bytes", "8388608T"}, "too large (at most 9223372036854775807 bytes)"},
      Bad{{"--max-bytes", "99999999999999999999"}, "too large"},
      Bad{{"--max-entries", "9223372036854775808"}, "too large (at most 9223372036854775807)"},
      Bad{{"--max-bytes", "5X"}, "unknown unit \"X\""},
      Bad{{"--max-bytes", "lots"}, "expected a number"}, Bad{{"--max-bytes", ""}, "empty"},
      Bad{{"--max-entries", "10k"}, "expected a whole number"}, Bad{{"--max-bytes"}, "--max-bytes"},
      Bad{{"extra"}, "extra"});
  std::vector<std::string> args{"limit"};
  args.insert(args.end(), bad.args.begin(), bad.args.end());
  CAPTURE(args);
  const Parsed parsed = parse(args);
  CHECK_FALSE(parsed.result.invocation);
  CHECK(parsed.result.exit_code == kExitUsage);
  CHECK(parsed.err.rfind("blobcache: usage: ", 0) == 0);
  CHECK(parsed.err.find(bad.reason) != std::string::npos);
  CHECK(parsed.out.empty());
}

TEST_CASE("limit --help says what K and KB mean", "[tool][cli]") {
  const Parsed help = parse({"limit", "--help"});
  CHECK(help.result.exit_code == kExitOk);
  CHECK(help.out.find("K, M, G, T (or KiB, MiB, GiB, TiB) are powers of 1024") !=
        std::string::npos);
  CHECK(help.out.find("KB, MB, GB, TB powers of 1000") != std::string::npos);
  CHECK(help.out.find("at least 4 KiB") != std::string::npos);
  CHECK(help.out.find("lrs|lru") != std::string::npos);
  CHECK(parse({"--help"}).out.find("stats") != std::string::npos);
}

}  // namespace
}  // namespace blobcache::tool
