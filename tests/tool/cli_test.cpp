// The command line: what parses into which Command, and what is a usage
// error (exit code 2) or help (exit code 0).
#include "cli.hpp"

#include <sstream>
#include <string>
#include <vector>

#include "catch_compat.hpp"

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
      std::vector<std::string>{"--json", "get", "ns", "k"},
      std::vector<std::string>{"check", "--shallow"});
  CAPTURE(args);
  const Parsed parsed = parse(args);
  CHECK_FALSE(parsed.result.invocation);
  CHECK(parsed.result.exit_code == kExitUsage);
  CHECK(parsed.err.rfind("blobcache: ", 0) == 0);
  CHECK(parsed.out.empty());
}

TEST_CASE("--help works on the tool and on every command", "[tool][cli]") {
  const std::vector<std::string> args = GENERATE(
      std::vector<std::string>{"--help"}, std::vector<std::string>{"ls", "--help"},
      std::vector<std::string>{"get", "-h"}, std::vector<std::string>{"put", "--help"},
      std::vector<std::string>{"rm", "--help"}, std::vector<std::string>{"rm-ns", "--help"},
      std::vector<std::string>{"clean", "--help"}, std::vector<std::string>{"info", "--help"},
      std::vector<std::string>{"check", "--help"});
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

}  // namespace
}  // namespace blobcache::tool
