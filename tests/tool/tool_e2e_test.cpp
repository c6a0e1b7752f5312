// End-to-end: the real blobcache binary on a real SQLite file, one temp
// folder per test case.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "blobcache/blobcache.hpp"

#include "catch_compat.hpp"
#include "files.hpp"
#include "temp_dir.hpp"
#include "tool_process.hpp"

namespace blobcache {
namespace {

using nlohmann::json;
using test::ToolResult;

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(file.good());
}

// Random bytes with runs of NULs, so that nothing on the way may treat the
// value as text.
std::string binary_bytes(std::size_t size) {
  std::mt19937_64 random(42);
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = random();
    for (std::size_t j = 0; j < 8 && i + j < size; ++j)
      bytes[i + j] = static_cast<char>(word >> (8 * j));
  }
  for (std::size_t i = 0; i < size; i += 4096)
    std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(i), std::min<std::size_t>(64, size - i),
                '\0');
  return bytes;
}

struct Fixture {
  test::TempDir dir;
  test::Tool tool{dir.path()};
  std::string db = (dir / "cache.db").string();

  // The tool with --db pointing at this test's file.
  ToolResult run(std::vector<std::string> args, const std::filesystem::path& input = "/dev/null") {
    args.insert(args.begin(), {"--db", db});
    return tool.run(args, input);
  }
  ToolResult put(const std::string& ns, const std::string& key, const std::string& value,
                 std::vector<std::string> options = {}) {
    const auto file = dir / "value.in";
    write_file(file, value);
    std::vector<std::string> args{"put", ns, key, file.string()};
    args.insert(args.end(), options.begin(), options.end());
    ToolResult result = run(args);
    INFO(result.err);
    REQUIRE(result.code == 0);
    return result;
  }
};

TEST_CASE("put from a file and get it back byte-identical (10 MiB with NULs)", "[tool][e2e]") {
  Fixture f;
  const std::string value = binary_bytes(10 * 1024 * 1024);
  const auto input = f.dir / "input.bin";
  write_file(input, value);

  const ToolResult put = f.run({"--json", "put", "bin", "big/file.bin", input.string(),
                                "--content-type", "application/octet-stream", "--meta", "k=v"});
  INFO(put.err);
  REQUIRE(put.code == 0);
  const json meta = json::parse(put.out).at("meta");
  CHECK(meta.at("size") == value.size());
  CHECK(meta.at("content_type") == "application/octet-stream");
  CHECK(meta.at("metadata") == json{{"k", "v"}});

  const ToolResult to_stdout = f.run({"get", "bin", "big/file.bin"});
  REQUIRE(to_stdout.code == 0);
  CHECK(to_stdout.out.size() == value.size());
  CHECK(to_stdout.out == value);

  const auto output = f.dir / "output.bin";
  const ToolResult to_file = f.run({"get", "bin", "big/file.bin", "-o", output.string()});
  REQUIRE(to_file.code == 0);
  CHECK(to_file.out.empty());
  CHECK(test::read_file(output) == value);

  // And through stdin.
  const ToolResult piped = f.run({"put", "bin", "piped", "-"}, input);
  REQUIRE(piped.code == 0);
  CHECK(f.run({"get", "bin", "piped"}).out == value);
}

TEST_CASE("ls --json lists namespaces and entries", "[tool][e2e]") {
  Fixture f;
  f.put("a", "one", "12345");
  f.put("a", "two", "123", {"--ttl", "2h", "--content-type", "text/plain"});
  f.put("a/b", "x", "1");

  const ToolResult all = f.run({"ls", "--json"});
  REQUIRE(all.code == 0);
  const json namespaces = json::parse(all.out).at("namespaces");
  CHECK(namespaces == json::parse(R"([{"name": "a", "entries": 2, "bytes": 8},
                                      {"name": "a/b", "entries": 1, "bytes": 1}])"));

  const ToolResult one = f.run({"--json", "ls", "a"});
  REQUIRE(one.code == 0);
  const json entries = json::parse(one.out).at("entries");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].at("key") == "one");
  CHECK(entries[0].at("expires_in_seconds").is_null());
  CHECK(entries[1].at("key") == "two");
  CHECK(entries[1].at("meta").at("content_type") == "text/plain");
  const double left = entries[1].at("expires_in_seconds");
  CHECK(left > 7000.0);
  CHECK(left <= 7200.0);
  CHECK(entries[1].at("age_seconds").get<double>() >= 0.0);

  const ToolResult human = f.run({"ls", "a"});
  CHECK(human.out.rfind("KEY", 0) == 0);
  CHECK(human.out.find("text/plain") != std::string::npos);
}

TEST_CASE("rm and rm-ns remove entries; missing ones exit 1", "[tool][e2e]") {
  Fixture f;
  f.put("ns", "k1", "a");
  f.put("ns", "k2", "b");
  f.put("ns/sub", "k", "c");

  CHECK(f.run({"rm", "ns", "k1"}).code == 0);
  const ToolResult gone = f.run({"get", "ns", "k1"});
  CHECK(gone.code == 1);
  CHECK(gone.err.find("entry_not_found") != std::string::npos);
  CHECK(gone.err.find(f.db) != std::string::npos);
  CHECK(f.run({"rm", "ns", "k1"}).code == 1);
  CHECK(f.run({"rm", "-f", "ns", "k1"}).code == 0);

  const ToolResult removed = f.run({"--json", "rm-ns", "ns"});
  REQUIRE(removed.code == 0);
  CHECK(json::parse(removed.out).at("entries") == 1);
  CHECK(f.run({"get", "ns", "k2"}).code == 1);
  CHECK(f.run({"get", "ns/sub", "k"}).out == "c");
  CHECK(f.run({"rm-ns", "ns"}).code == 1);
}

TEST_CASE("clean erases entries whose --expires-at has passed", "[tool][e2e]") {
  Fixture f;
  f.put("a", "old1", "x", {"--expires-at", "2020-01-02T03:04:05Z"});
  f.put("a", "old2", "x", {"--expires-at", "2021-06-01T12:00:00.5+02:00"});
  f.put("a", "future", "x", {"--expires-at", "2200-01-01T00:00:00Z"});
  f.put("b", "old", "x", {"--expires-at", "2020-01-01T00:00:00Z"});
  f.put("b", "forever", "x");

  const ToolResult one = f.run({"--json", "clean", "b"});
  REQUIRE(one.code == 0);
  CHECK(json::parse(one.out).at("erased") == 1);

  const ToolResult all = f.run({"clean"});
  REQUIRE(all.code == 0);
  CHECK(all.out.find("erased 2 expired entries") != std::string::npos);

  const json left = json::parse(f.run({"--json", "ls"}).out).at("namespaces");
  CHECK(left == json::parse(R"([{"name": "a", "entries": 1, "bytes": 1},
                                 {"name": "b", "entries": 1, "bytes": 1}])"));
  CHECK(f.run({"get", "a", "future"}).code == 0);
}

// Flips one byte inside every copy of `marker` in `file`; returns how many.
int flip_marker_bytes(const std::filesystem::path& file, const std::string& marker) {
  std::string bytes = test::read_file(file);
  int flipped = 0;
  for (std::size_t at = bytes.find(marker); at != std::string::npos;
       at = bytes.find(marker, at + marker.size())) {
    bytes[at + marker.size() / 2] ^= 0x20;
    ++flipped;
  }
  write_file(file, bytes);
  return flipped;
}

TEST_CASE("check --deep reports a blob corrupted inside the SQLite file", "[tool][e2e]") {
  Fixture f;
  const std::string marker = "<<blobcache-e2e-corruption-marker>>";
  std::string victim;
  while (victim.size() < 20'000) victim += marker;
  f.put("ns", "victim", victim);
  f.put("ns", "healthy", binary_bytes(100'000));
  CHECK(f.run({"check", "--deep"}).code == 0);

  // Every connection is closed, so the pages are checkpointed into the main
  // file and no WAL frame shadows them.
  const std::filesystem::path wal = f.db + "-wal";
  REQUIRE((!std::filesystem::exists(wal) || std::filesystem::file_size(wal) == 0));
  REQUIRE(flip_marker_bytes(f.db, marker) > 0);

  const ToolResult deep = f.run({"--json", "check", "--deep"});
  CHECK(deep.code == 3);
  CHECK(deep.err.find("corrupt") != std::string::npos);
  const json report = json::parse(deep.out);
  CHECK(report.at("ok") == false);
  CHECK(report.at("entries_checked") == 2);
  REQUIRE(report.at("failures").size() == 1);
  CHECK(report.at("failures")[0].at("key") == "victim");

  const ToolResult human = f.run({"check", "--deep"});
  CHECK(human.code == 3);
  CHECK(human.out.find("victim") != std::string::npos);
  CHECK(human.out.find("FAILED") != std::string::npos);

  const ToolResult get = f.run({"get", "ns", "victim", "-o", (f.dir / "victim.out").string()});
  CHECK(get.code == 3);
  CHECK(get.err.find("corrupt") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.dir / "victim.out"));
  CHECK(f.run({"get", "ns", "healthy"}).code == 0);
}

TEST_CASE("usage errors exit 2; --help exits 0", "[tool][e2e]") {
  Fixture f;
  const std::vector<std::string> args =
      GENERATE(std::vector<std::string>{}, std::vector<std::string>{"nope"},
               std::vector<std::string>{"get", "ns"},
               std::vector<std::string>{"put", "ns", "k", "--ttl", "3 days"},
               std::vector<std::string>{"put", "ns", "k", "--expires-at", "2026-13-01T00:00:00Z"},
               std::vector<std::string>{"ls", "/bad"});
  CAPTURE(args);
  const ToolResult result = f.run(args);
  CHECK(result.code == 2);
  CHECK(result.err.rfind("blobcache: ", 0) == 0);
  CHECK_FALSE(std::filesystem::exists(f.db));  // nothing was opened

  const ToolResult help = f.tool.run({"put", "--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("--expires-at") != std::string::npos);
}

TEST_CASE("a missing entry or cache file exits 1", "[tool][e2e]") {
  Fixture f;
  const ToolResult no_file = f.run({"ls"});
  CHECK(no_file.code == 1);
  CHECK(no_file.err.find(f.db) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.db));  // not created by looking

  f.put("ns", "k", "v");
  const ToolResult missing = f.run({"get", "ns", "absent"});
  CHECK(missing.code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err.find("entry_not_found") != std::string::npos);
}

TEST_CASE("--read-only reads but refuses writes with exit 3 and read_only", "[tool][e2e]") {
  Fixture f;
  f.put("ns", "k", "value");
  const auto input = f.dir / "in.txt";
  write_file(input, "new");
  for (const auto& args :
       {std::vector<std::string>{"--read-only", "put", "ns", "k2", input.string()},
        std::vector<std::string>{"--read-only", "rm", "ns", "k"},
        std::vector<std::string>{"--read-only", "rm-ns", "ns"}}) {
    CAPTURE(args);
    const ToolResult refused = f.run(args);
    CHECK(refused.code == 3);
    CHECK(refused.err.find("read_only") != std::string::npos);
    CHECK(refused.err.find(f.db) != std::string::npos);
  }
  CHECK(f.run({"--read-only", "get", "ns", "k"}).out == "value");
  CHECK(f.run({"--read-only", "ls"}).code == 0);
  CHECK(f.run({"--read-only", "check", "--deep"}).code == 0);
}

TEST_CASE("the tool works on a file another process holds open and writes", "[tool][e2e]") {
  Fixture f;
  SqliteStore writer(SqliteOptions{.path = f.db});
  writer.put("live", "from-writer", std::string_view("written in-process"));

  // The writer keeps its connection (and the WAL) open while the tool reads.
  const ToolResult listed = f.run({"--json", "ls", "live"});
  REQUIRE(listed.code == 0);
  CHECK(json::parse(listed.out).at("entries")[0].at("key") == "from-writer");
  CHECK(f.run({"get", "live", "from-writer"}).out == "written in-process");
  CHECK(f.run({"--read-only", "get", "live", "from-writer"}).out == "written in-process");

  f.put("live", "from-tool", "written by the tool");
  const auto blob = writer.get("live", "from-tool");
  REQUIRE(blob);
  CHECK(blob->text() == "written by the tool");
  writer.put("live", "from-writer", std::string_view("replaced"));
  CHECK(f.run({"get", "live", "from-writer"}).out == "replaced");

  const ToolResult info = f.run({"--json", "info"});
  REQUIRE(info.code == 0);
  const json document = json::parse(info.out);
  CHECK(document.at("backend") == "sqlite");
  CHECK(document.at("entries") == 2);
  CHECK(document.at("files").at("db").at("bytes").get<std::int64_t>() > 0);
}

TEST_CASE("--db defaults to $BLOBCACHE_DB, else the user cache folder", "[tool][e2e]") {
  Fixture f;
  const auto input = f.dir / "in.txt";
  write_file(input, "hello");
  REQUIRE(f.tool.run({"put", "ns", "k", input.string()}).code == 0);
  CHECK(std::filesystem::exists(f.dir / "xdg" / "blobcache" / "blobcache.db"));

  f.tool.set_env("BLOBCACHE_DB", (f.dir / "env.db").string());
  REQUIRE(f.tool.run({"put", "ns", "k", input.string()}).code == 0);
  CHECK(std::filesystem::exists(f.dir / "env.db"));
  const ToolResult info = f.tool.run({"info"});
  CHECK(info.code == 0);
  CHECK(info.out.find("env.db") != std::string::npos);
}

// ---- Regressions of issue 10 through the real binary ----

TEST_CASE("e2e regression: put --ttl 99999d exits 2 with the range and creates nothing",
          "[tool][e2e][regression]") {
  Fixture f;
  const auto input = f.dir / "in.txt";
  write_file(input, "hi");
  const ToolResult refused = f.run({"put", "d", "k", "--ttl", "99999d"}, input);
  CHECK(refused.code == 2);
  CHECK(refused.err.find("1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.db));
}

TEST_CASE("e2e regression: --expires-at 2262-04-11T23:47:16Z is stored and not expired",
          "[tool][e2e][regression]") {
  Fixture f;
  f.put("d", "k", "v", {"--expires-at", "2262-04-11T23:47:16Z"});
  const json entry = json::parse(f.run({"--json", "ls", "d"}).out).at("entries").at(0);
  CHECK(entry.at("meta").at("expires_at") == "2262-04-11T23:47:16Z");
  CHECK(entry.at("expired") == false);
  CHECK(entry.at("expires_in_seconds").get<double>() > 0);
  CHECK(json::parse(f.run({"--json", "clean"}).out).at("erased") == 0);
}

TEST_CASE("e2e regression: put NS KEY --meta a=1 FILE reads FILE, as the README shows",
          "[tool][e2e][regression]") {
  Fixture f;
  const auto input = f.dir / "x=y.txt";  // '=' in a file name is still a file
  write_file(input, "from the file");
  const ToolResult put =
      f.run({"--json", "put", "ns", "k", "--meta", "a=1", input.string(), "--meta", "a=2"});
  INFO(put.err);
  REQUIRE(put.code == 0);
  CHECK(json::parse(put.out).at("meta").at("metadata") == json{{"a", "2"}});
  CHECK(f.run({"get", "ns", "k"}).out == "from the file");
}

TEST_CASE("e2e regression: exit codes and JSON errors of failures", "[tool][e2e][regression]") {
  Fixture f;
  const ToolResult no_file = f.run({"--json", "ls"});
  CHECK(no_file.code == 1);
  CHECK(json::parse(no_file.out).at("error").at("code") == "not_found");

  f.put("ns", "k", "v");
  const ToolResult missing_input = f.run({"put", "ns", "k2", (f.dir / "absent").string()});
  CHECK(missing_input.code == 3);
  CHECK(missing_input.err.find("blobcache: io: ") == 0);

  const ToolResult ls = f.run({"--json", "ls", "nothere"});
  const ToolResult rm_ns = f.run({"--json", "rm-ns", "nothere"});
  CHECK(ls.code == 1);
  CHECK(rm_ns.code == 1);
  CHECK(json::parse(ls.out).at("error").at("code") == "entry_not_found");
  CHECK(json::parse(rm_ns.out).at("error").at("code") == "entry_not_found");

  const ToolResult bogus = f.run({"--json", "bogus"});
  CHECK(bogus.code == 2);
  CHECK(bogus.err.find("unknown command \"bogus\"") != std::string::npos);
  CHECK(json::parse(bogus.out).at("error").at("code") == "usage");

  const ToolResult get = f.run({"get", "ns", "absent"});
  CHECK(get.err ==
        "blobcache: entry_not_found: get \"ns\"/\"absent\": no such entry (db: " + f.db + ")\n");
}

TEST_CASE("a failure whose message names the file names it once", "[tool][e2e][regression]") {
  Fixture f;
  write_file(f.db, std::string(8192, 'x'));  // not a database
  const ToolResult human = f.run({"ls"});
  CHECK(human.code == 3);
  INFO(human.err);
  CHECK(human.err.find("blobcache: corrupt: ") == 0);
  const auto first = human.err.find(f.db);
  REQUIRE(first != std::string::npos);
  CHECK(human.err.find(f.db, first + 1) == std::string::npos);
  CHECK(human.err.find("(db: ") == std::string::npos);
  // The JSON error keeps its db field.
  const ToolResult machine = f.run({"--json", "ls"});
  CHECK(json::parse(machine.out).at("error").at("db") == f.db);
}

// ---- stats, limit, trim, compact (issue 12) ----

json run_json(Fixture& f, std::vector<std::string> args) {
  args.insert(args.begin(), "--json");
  const ToolResult result = f.run(args);
  CAPTURE(args);
  INFO(result.err);
  REQUIRE(result.code == 0);
  return json::parse(result.out);
}

// `count` values of `size` bytes in `ns`, written by this process (another
// user of the file), keys k000, k001, ... in put order.
void fill_with_library(const std::string& db, const std::string& ns, int count, std::size_t size) {
  SqliteStore store(SqliteOptions{.path = db});
  const std::string value = binary_bytes(size);
  for (int i = 0; i < count; ++i) {
    std::string digits = std::to_string(i);
    store.put(ns, "k" + std::string(3 - digits.size(), '0') + digits, std::string_view(value));
  }
}

TEST_CASE("stats --json counts the binary's gets and misses", "[tool][e2e][stats]") {
  Fixture f;
  f.put("a", "one", "12345");
  f.put("a", "two", "123");
  f.put("b", "x", "1");
  CHECK(f.run({"get", "a", "one"}).out == "12345");
  CHECK(f.run({"get", "a", "one", "-o", (f.dir / "one.out").string()}).code == 0);
  CHECK(f.run({"get", "a", "nope"}).code == 1);
  CHECK(f.run({"get", "b", "x"}).code == 0);
  CHECK(f.run({"get", "c", "none"}).code == 1);

  const auto db_bytes = static_cast<std::int64_t>(std::filesystem::file_size(f.db));
  const json stats = run_json(f, {"stats"});
  CHECK(stats.at("db") == f.db);
  CHECK(stats.at("backend") == "sqlite");
  CHECK(stats.at("hits") == 3);
  CHECK(stats.at("misses") == 2);
  CHECK(stats.at("hit_rate") == 0.6);
  CHECK(stats.at("evictions") == 0);
  CHECK(stats.at("expirations") == 0);
  CHECK(stats.at("entries") == 3);
  CHECK(stats.at("bytes") == 9);
  CHECK(stats.at("file_bytes").get<std::int64_t>() >= db_bytes);  // the file and its WAL
  CHECK(stats.at("limits") ==
        json{{"max_bytes", 0}, {"max_entries", 0}, {"eviction", "least_recently_stored"}});
  const json& spaces = stats.at("namespaces");
  REQUIRE(spaces.size() == 3);
  CHECK(spaces[0].at("name") == "a");
  CHECK(spaces[0].at("hits") == 2);
  CHECK(spaces[0].at("misses") == 1);
  CHECK(spaces[0].at("entries") == 2);
  CHECK(spaces[0].at("bytes") == 8);
  CHECK(spaces[1].at("name") == "b");
  CHECK(spaces[1].at("hits") == 1);
  CHECK(spaces[1].at("hit_rate") == 1.0);
  CHECK(spaces[2] == json{{"name", "c"},
                          {"entries", 0},
                          {"bytes", 0},
                          {"hits", 0},
                          {"misses", 1},
                          {"hit_rate", 0.0},
                          {"evictions", 0},
                          {"expirations", 0}});

  const ToolResult text = f.run({"stats"});
  REQUIRE(text.code == 0);
  CHECK(text.out.find("60.0 %") != std::string::npos);
  CHECK(text.out.find("NAMESPACE") != std::string::npos);
  CHECK(f.run({"--read-only", "stats"}).code == 0);

  // Zeroed: the counters, not the entries.
  const ToolResult refused = f.run({"--read-only", "stats", "--zero"});
  CHECK(refused.code == 3);
  CHECK(refused.err.find("read_only") != std::string::npos);
  const json zeroed = run_json(f, {"stats", "--zero"});
  CHECK(zeroed.at("hits") == 0);
  CHECK(zeroed.at("misses") == 0);
  CHECK(zeroed.at("entries") == 3);
  const json later = run_json(f, {"stats"});
  CHECK(later.at("hits") == 0);
  CHECK(later.at("hit_rate").is_null());
  CHECK(later.at("bytes") == 9);
}

TEST_CASE("limit then trim bring a full cache under the new bound", "[tool][e2e][limits]") {
  Fixture f;
  fill_with_library(f.db, "fill", 64, 4096);  // 256 KiB, no limits yet
  REQUIRE(run_json(f, {"stats"}).at("bytes") == 64 * 4096);

  const json limited = run_json(f, {"limit", "--max-bytes", "64K"});
  CHECK(limited.at("limits") ==
        json{{"max_bytes", 65536}, {"max_entries", 0}, {"eviction", "least_recently_stored"}});
  const json after_limit = run_json(f, {"stats"});
  const std::int64_t entries = after_limit.at("entries");
  const std::int64_t bytes = after_limit.at("bytes");
  CHECK(bytes <= 65536);
  CHECK(bytes == entries * 4096);
  CHECK(after_limit.at("evictions") == 64 - entries);
  CHECK(f.run({"get", "fill", "k063"}).code == 0);  // the newest stay
  CHECK(f.run({"get", "fill", "k000"}).code == 1);

  // trim goes on to 90 % of the bound (the limit's own process may have
  // started on that already) and says what it removed.
  const json trimmed = run_json(f, {"trim"});
  const json after_trim = run_json(f, {"stats"});
  CHECK(after_trim.at("bytes").get<std::int64_t>() <= 58983);  // 90 % of 64 KiB, rounded up
  CHECK(trimmed.at("evicted").at("entries") ==
        entries - after_trim.at("entries").get<std::int64_t>());
  CHECK(trimmed.at("evicted").at("bytes") == bytes - after_trim.at("bytes").get<std::int64_t>());
  CHECK(trimmed.at("limits") == limited.at("limits"));
  const ToolResult again = f.run({"trim"});
  CHECK(again.code == 0);
  CHECK(again.out == "evicted 0 entries, 0 B\n");

  // A bound on entries as well; the bytes bound stays.
  const json both = run_json(f, {"limit", "--max-entries", "5", "--eviction", "lru"});
  CHECK(both.at("limits") ==
        json{{"max_bytes", 65536}, {"max_entries", 5}, {"eviction", "least_recently_used"}});
  CHECK(run_json(f, {"stats"}).at("entries").get<std::int64_t>() <= 5);
  // Another process opening the file honours the limits the tool set.
  fill_with_library(f.db, "more", 20, 4096);
  const json bounded = run_json(f, {"stats"});
  CHECK(bounded.at("entries").get<std::int64_t>() <= 5);
  CHECK(bounded.at("bytes").get<std::int64_t>() <= 65536);
  CHECK(run_json(f, {"info"}).at("limits") == both.at("limits"));

  const json unbounded = run_json(f, {"limit", "--none"});
  CHECK(unbounded.at("limits") ==
        json{{"max_bytes", 0}, {"max_entries", 0}, {"eviction", "least_recently_used"}});
}

TEST_CASE("limit's bad input exits 2 with the reason and changes nothing", "[tool][e2e][limits]") {
  Fixture f;
  f.put("ns", "k", "value");
  const json before = run_json(f, {"limit", "--max-bytes", "1M", "--max-entries", "100"});
  const std::vector<std::string> args = GENERATE(
      std::vector<std::string>{"--max-bytes", "-1"}, std::vector<std::string>{"--max-entries=-1"},
      std::vector<std::string>{"--max-bytes", "1K"},
      std::vector<std::string>{"--max-bytes", "4095B"},
      std::vector<std::string>{"--eviction", "random"},
      std::vector<std::string>{"--none", "--max-entries", "3"},
      std::vector<std::string>{"--max-bytes", "8388608T"},
      std::vector<std::string>{"--max-entries", "lots"});
  CAPTURE(args);
  std::vector<std::string> command{"--json", "limit"};
  command.insert(command.end(), args.begin(), args.end());
  const ToolResult refused = f.run(command);
  CHECK(refused.code == 2);
  CHECK(refused.err.rfind("blobcache: usage: ", 0) == 0);
  CHECK(json::parse(refused.out).at("error").at("exit_code") == 2);
  CHECK(run_json(f, {"limit"}) == before);
  CHECK(f.run({"get", "ns", "k"}).out == "value");
}

TEST_CASE("limit, trim and compact on a missing or read-only file", "[tool][e2e][limits]") {
  Fixture f;
  for (const auto& args :
       {std::vector<std::string>{"limit"}, std::vector<std::string>{"trim"},
        std::vector<std::string>{"compact"}, std::vector<std::string>{"stats"}}) {
    CAPTURE(args);
    CHECK(f.run(args).code == 1);
    CHECK_FALSE(std::filesystem::exists(f.db));
  }
  // Bounding a cache before its first use creates it, as put does.
  CHECK(run_json(f, {"limit", "--max-bytes", "1G"}).at("limits").at("max_bytes") == 1 << 30);
  CHECK(std::filesystem::exists(f.db));

  CHECK(f.run({"--read-only", "limit"}).code == 0);
  for (const auto& args : {std::vector<std::string>{"--read-only", "limit", "--none"},
                           std::vector<std::string>{"--read-only", "trim"},
                           std::vector<std::string>{"--read-only", "compact"}}) {
    CAPTURE(args);
    const ToolResult refused = f.run(args);
    CHECK(refused.code == 3);
    CHECK(refused.err.find("read_only") != std::string::npos);
  }
  CHECK(run_json(f, {"limit"}).at("limits").at("max_bytes") == 1 << 30);
}

TEST_CASE("compact after an erase shrinks the file", "[tool][e2e][limits]") {
  Fixture f;
  f.put("ns", "small", "kept");
  f.put("ns", "big", binary_bytes(std::size_t{4} << 20));
  REQUIRE(f.run({"rm", "ns", "big"}).code == 0);
  const auto before = static_cast<std::int64_t>(std::filesystem::file_size(f.db));
  CHECK(before >= std::int64_t{4} << 20);  // erased, but its pages are still in the file

  const json compacted = run_json(f, {"compact"});
  CHECK(compacted.at("db") == f.db);
  const std::int64_t bytes_before = compacted.at("bytes_before");
  const std::int64_t bytes_after = compacted.at("bytes_after");
  CHECK(bytes_before >= before);
  CHECK(bytes_after < std::int64_t{1} << 20);
  CHECK(static_cast<std::int64_t>(std::filesystem::file_size(f.db)) <= bytes_after);
  CHECK(f.run({"get", "ns", "small"}).out == "kept");

  const ToolResult text = f.run({"compact"});
  REQUIRE(text.code == 0);
  CHECK(text.out.rfind("compacted " + f.db + ": ", 0) == 0);
}

// ---- conditional puts (issue 13) ----

TEST_CASE("put --if-match and --if-absent: exit 4 with precondition_failed, nothing written",
          "[tool][e2e][if_match]") {
  Fixture f;
  const auto etag_of = [&f](const std::string& key) {
    const json listing = run_json(f, {"ls", "ns"});
    for (const json& entry : listing.at("entries")) {
      if (entry.at("key") == key) return entry.at("meta").at("etag").get<std::string>();
    }
    FAIL("no entry " << key);
    return std::string();
  };
  const auto value_of = [&f](const std::string& key) {
    const ToolResult get = f.run({"get", "ns", key});
    REQUIRE(get.code == 0);
    return get.out;
  };

  f.put("ns", "k", "first", {"--if-absent"});
  const std::string first = etag_of("k");
  const auto file = f.dir / "second.in";
  write_file(file, "second");

  const ToolResult absent_again = f.run({"put", "ns", "k", file.string(), "--if-absent"});
  CHECK(absent_again.code == 4);
  CHECK(absent_again.err.find("blobcache: precondition_failed: ") == 0);
  CHECK(value_of("k") == "first");

  const std::string other(64, 'a');
  const ToolResult stale = f.run({"--json", "put", "ns", "k", file.string(), "--if-match", other});
  CHECK(stale.code == 4);
  CHECK(json::parse(stale.out).at("error").at("code") == "precondition_failed");
  CHECK(value_of("k") == "first");

  f.put("ns", "k", "second", {"--if-match", first});
  CHECK(value_of("k") == "second");
  CHECK(etag_of("k") != first);

  // An etag for a key that does not exist cannot hold either.
  const ToolResult none = f.run({"put", "ns", "absent", file.string(), "--if-match", first});
  CHECK(none.code == 4);
  CHECK(f.run({"get", "ns", "absent"}).code == 1);
}

}  // namespace
}  // namespace blobcache
