// The real blobcache binary with --db redis://... on a real redis-server.
#include <fstream>
#include <nlohmann/json.hpp>

#include "catch_compat.hpp"
#include "redis_server.hpp"
#include "temp_dir.hpp"
#include "tool_process.hpp"

namespace blobcache {
namespace {

using nlohmann::json;
using test::RedisServer;
using test::TempDir;
using test::Tool;
using test::ToolResult;

struct Fixture {
  RedisServer server;
  TempDir dir;
  Tool tool{dir.path()};
  std::string url = "redis://127.0.0.1:" + std::to_string(server.port()) + "/0?prefix=tool";

  ToolResult run(std::vector<std::string> args, const std::filesystem::path& input = "/dev/null") {
    args.insert(args.begin(), {"--db", url});
    return tool.run(args, input);
  }
  std::filesystem::path file(const std::string& name, const std::string& bytes) const {
    const auto path = dir / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

TEST_CASE("every command works on a Redis server", "[tool][redis]") {
  Fixture f;
  std::string big(700'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 251);
  REQUIRE(f.run({"put", "ns", "big", f.file("big.bin", big).string()}).code == 0);
  REQUIRE(f.run({"put", "ns", "small", "-", "--content-type", "text/plain"},
                f.file("small.txt", "hello"))
              .code == 0);
  REQUIRE(f.run({"put", "ns", "old", "-", "--expires-at", "2001-01-01T00:00:00Z"},
                f.file("old.txt", "x"))
              .code == 0);
  REQUIRE(f.run({"put", "other", "k", "-"}, f.file("k.txt", "k")).code == 0);

  const ToolResult got = f.run({"get", "ns", "big"});
  REQUIRE(got.code == 0);
  CHECK(got.out == big);

  const ToolResult all = f.run({"--json", "ls"});
  REQUIRE(all.code == 0);
  CHECK(json::parse(all.out).at("namespaces") ==
        json::parse(R"([{"name": "ns", "entries": 3, "bytes": 700006},
                        {"name": "other", "entries": 1, "bytes": 1}])"));
  const ToolResult entries = f.run({"--json", "ls", "ns"});
  REQUIRE(entries.code == 0);
  CHECK(json::parse(entries.out).at("entries").size() == 3);

  const ToolResult cleaned = f.run({"clean", "ns"});
  INFO(cleaned.err);
  REQUIRE(cleaned.code == 0);
  CHECK(f.run({"get", "ns", "old"}).code == 1);

  CHECK(f.run({"check"}).code == 0);
  CHECK(f.run({"check", "--deep"}).code == 0);

  const ToolResult info = f.run({"--json", "info"});
  REQUIRE(info.code == 0);
  const json described = json::parse(info.out);
  CHECK(described.at("backend") == "redis");
  CHECK(described.at("root") == "redis://127.0.0.1:" + std::to_string(f.server.port()) + "/0");
  CHECK(described.at("details").at("redis_version").get<std::string>().starts_with("7."));
  CHECK(described.at("details").at("maxmemory_policy") == "noeviction");
  const ToolResult text_info = f.run({"info"});
  CHECK_THAT(text_info.out, Catch::Contains("redis_version"));
  CHECK_THAT(text_info.out, Catch::Contains("maxmemory_policy"));

  const ToolResult stats = f.run({"--json", "stats"});
  INFO(stats.err);
  REQUIRE(stats.code == 0);
  CHECK_THAT(stats.out, Catch::Contains("\"hits\""));
  // Limits, trim and compact are SqliteStore's: a server says so.
  for (const std::vector<std::string>& sqlite_only : {std::vector<std::string>{"trim"},
                                                      {"compact"},
                                                      {"limit"},
                                                      {"limit", "--max-entries", "5"}}) {
    const ToolResult refused = f.run(sqlite_only);
    INFO(sqlite_only.front());
    CHECK(refused.code == 3);
    CHECK_THAT(refused.err, Catch::Contains("unsupported"));
  }
  CHECK(f.run({"get", "ns", "big"}).out == big);  // nothing was evicted

  CHECK(f.run({"rm", "ns", "small"}).code == 0);
  CHECK(f.run({"rm", "ns", "small"}).code == 1);
  CHECK(f.run({"rm-ns", "other"}).code == 0);
  CHECK(f.run({"rm-ns", "other"}).code == 1);
  CHECK(f.run({"--read-only", "get", "ns", "big"}).code == 0);
  const ToolResult refused = f.run({"--read-only", "put", "ns", "x", "-"}, f.file("x", "x"));
  CHECK(refused.code == 3);
  CHECK_THAT(refused.err, Catch::Contains("read_only"));
}

TEST_CASE("a redis URL that does not parse exits 2 with the reason", "[tool][redis]") {
  TempDir dir;
  Tool tool(dir.path());
  const ToolResult bad = tool.run({"--db", "redis://host:99999/0", "ls"});
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("port \"99999\""));
  const ToolResult unknown = tool.run({"--db", "redis://host?colour=blue", "ls"});
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("unknown parameter"));
}

TEST_CASE("an unreachable server exits 3 with unavailable, naming it, without its password",
          "[tool][redis]") {
  int port = 0;
  {
    RedisServer server;
    port = server.port();
  }
  TempDir dir;
  Tool tool(dir.path());
  const ToolResult result = tool.run(
      {"--db", "redis://me:hunter2@127.0.0.1:" + std::to_string(port) + "/0?connect_timeout_ms=500",
       "ls"});
  CHECK(result.code == 3);
  CHECK_THAT(result.err, Catch::Contains("unavailable"));
  CHECK_THAT(result.err, Catch::Contains("127.0.0.1:" + std::to_string(port)));
  CHECK_THAT(result.err, !Catch::Contains("hunter2"));
}

TEST_CASE("redis+unix:// opens the server's socket", "[tool][redis]") {
  RedisServer server;
  TempDir dir;
  Tool tool(dir.path());
  const std::string url = "redis+unix://" + server.socket().string() + "?prefix=u";
  const auto input = dir / "v.txt";
  std::ofstream(input) << "value";
  REQUIRE(tool.run({"--db", url, "put", "ns", "k", "-"}, input).code == 0);
  const ToolResult got = tool.run({"--db", url, "get", "ns", "k"});
  CHECK(got.code == 0);
  CHECK(got.out == "value");
}

}  // namespace
}  // namespace blobcache
