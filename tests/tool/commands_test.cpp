// The tool's commands run against a MemoryStore (and a faulty wrapper of
// one), without the binary: output, JSON documents and exit codes.
#include "commands.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "blobcache/blobcache.hpp"

#include "catch_compat.hpp"
#include "files.hpp"
#include "fixed_clock.hpp"
#include "format.hpp"
#include "temp_dir.hpp"

namespace blobcache::tool {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::read_file;

const TimePoint kT0 = TimePoint{} + 1'800'000'000s;  // 2027-01-15T08:00:00Z

// Forwards to a MemoryStore; can refuse writes like a read-only SqliteStore
// and hand out readers that flip one byte, like a damaged chunk would.
class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::shared_ptr<const Clock> clock) : inner_("faulty", std::move(clock)) {}
  enum class Reads { normal, flip_a_byte, fail };
  bool read_only = false;
  Reads reads = Reads::normal;

 protected:
  std::optional<Blob> do_get(std::string_view ns, std::string_view key) override {
    return inner_.get(ns, key);
  }
  Meta do_put(std::string_view ns, std::string_view key, BytesView value,
              const PutOptions& opts) override {
    refuse_if_read_only();
    return inner_.put(ns, key, value, opts);
  }
  std::unique_ptr<BlobReader> do_open(std::string_view ns, std::string_view key) override {
    auto reader = inner_.open(ns, key);
    if (!reader || reads == Reads::normal) return reader;
    return std::make_unique<DamagedReader>(std::move(reader), reads == Reads::fail);
  }
  Meta do_put_stream(std::string_view ns, std::string_view key, std::istream& in,
                     const PutOptions& opts, std::stop_token stop) override {
    refuse_if_read_only();
    return inner_.put_stream(ns, key, in, opts, std::move(stop));
  }
  void do_erase(std::string_view ns, std::string_view key) override {
    refuse_if_read_only();
    inner_.erase(ns, key);
  }
  void do_erase_namespace(std::string_view ns) override {
    refuse_if_read_only();
    inner_.erase_namespace(ns);
  }
  std::vector<Object> do_list(std::string_view ns) override { return inner_.list(ns); }
  std::vector<NamespaceInfo> do_namespaces() override { return inner_.namespaces(); }
  // MemoryStore's, so that conditional puts are checked (by it, atomically).
  Info do_describe() const override { return inner_.describe(); }
  // MemoryStore's, so that expirations are counted.
  std::size_t do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) override {
    refuse_if_read_only();
    return inner_.erase_expired(ns, now, ttl);
  }
  Stats do_stats() override { return inner_.stats(); }
  void do_reset_stats() override { inner_.reset_stats(); }

 private:
  // Flips the first byte read, or fails like a chunk whose check failed.
  class DamagedReader final : public BlobReader {
   public:
    DamagedReader(std::unique_ptr<BlobReader> inner, bool fail)
        : inner_(std::move(inner)), fail_(fail) {}
    std::size_t read(std::span<std::byte> out) override {
      if (fail_) throw Error(Errc::corrupt, "read: chunk 0 failed its check");
      const std::size_t n = inner_->read(out);
      if (n > 0 && !flipped_) {
        out[0] ^= std::byte{0x01};
        flipped_ = true;
      }
      return n;
    }
    const Meta& meta() const noexcept override { return inner_->meta(); }

   private:
    std::unique_ptr<BlobReader> inner_;
    bool fail_;
    bool flipped_ = false;
  };

  void refuse_if_read_only() const {
    if (read_only) throw Error(Errc::read_only, "write to a read-only test store");
  }

  MemoryStore inner_;
};

struct Result {
  int code;
  std::string out;
  std::string err;
  json document() const { return json::parse(out); }
};

// Runs `command` on `store` (`sqlite`: the same store when it is one).
Result run_on(Store& store, SqliteStore* sqlite, const std::filesystem::path& db,
              const Command& command, bool json_output, TimePoint now, std::string input = {}) {
  std::istringstream in(std::move(input));
  std::ostringstream out;
  std::ostringstream err;
  Context context{.store = store,
                  .db = db,
                  .json = json_output,
                  .in = in,
                  .out = out,
                  .err = err,
                  .now = now,
                  .sqlite = sqlite};
  const int code = tool::run(context, command);
  return {code, out.str(), err.str()};
}

class Fixture {
 public:
  Fixture() : clock_(std::make_shared<test::FixedClock>(kT0)), store(clock_) {}

  Result run(const Command& command, bool json_output = false, std::string input = {}) {
    return run_on(store, nullptr, dir / "cache.db", command, json_output, clock_->now(),
                  std::move(input));
  }
  void advance(Duration d) { clock_->advance(d); }

 private:
  std::shared_ptr<test::FixedClock> clock_;

 public:
  FaultyStore store;
  test::TempDir dir;
};

std::string binary_value() {
  std::string value;
  for (int i = 0; i < 70'000; ++i) value.push_back(static_cast<char>(i % 251));
  value[10] = '\0';
  return value;
}

TEST_CASE("put from stdin prints the Meta; get gives the bytes back", "[tool][commands]") {
  Fixture f;
  const std::string value = binary_value();
  PutCommand put{.ns = "img", .key = "a/b.bin"};
  put.options.content_type = "application/octet-stream";
  put.options.metadata = {{"origin", "x=y"}};
  put.ttl = 2h;
  const Result stored = f.run(put, true, value);
  REQUIRE(stored.code == kExitOk);
  const json meta = stored.document().at("meta");
  CHECK(meta.at("size") == value.size());
  CHECK(meta.at("content_type") == "application/octet-stream");
  CHECK(meta.at("metadata").at("origin") == "x=y");
  CHECK(meta.at("expires_at") == format_time(kT0 + 2h));
  CHECK(meta.at("etag").get<std::string>().size() == 64);

  const Result got = f.run(GetCommand{.ns = "img", .key = "a/b.bin"});
  CHECK(got.code == kExitOk);
  CHECK(got.out == value);

  const Result human = f.run(PutCommand{.ns = "img", .key = "t"}, false, "hello");
  CHECK(human.code == kExitOk);
  CHECK(human.out.find("etag") != std::string::npos);
  CHECK(human.out.find("5 (5 B)") != std::string::npos);
}

TEST_CASE("get -o writes the file; a missing entry exits 1 and writes nothing",
          "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k", std::string_view("payload"));
  const auto target = f.dir / "out.bin";
  const Result got = f.run(GetCommand{.ns = "ns", .key = "k", .output = target}, true);
  REQUIRE(got.code == kExitOk);
  CHECK(got.document().at("meta").at("size") == 7);
  CHECK(read_file(target) == "payload");

  const auto absent = f.dir / "absent.bin";
  const Result missing = f.run(GetCommand{.ns = "ns", .key = "nope", .output = absent});
  CHECK(missing.code == kExitNotFound);
  CHECK(missing.err.find("entry_not_found") != std::string::npos);
  CHECK(missing.err.find("cache.db") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(absent));
}

TEST_CASE("get -o leaves no file behind when the value fails its check", "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k", std::string_view("payload"));
  f.store.reads = FaultyStore::Reads::fail;
  const auto target = f.dir / "out.bin";
  const Result got = f.run(GetCommand{.ns = "ns", .key = "k", .output = target});
  CHECK(got.code == kExitFailure);
  CHECK(got.err.find("corrupt") != std::string::npos);
  CHECK(std::filesystem::is_empty(f.dir.path()));  // neither out.bin nor a partial file
}

TEST_CASE("ls lists namespaces with totals, and a namespace's entries", "[tool][commands]") {
  Fixture f;
  f.store.put("a", "one", std::string_view("12345"));
  f.store.put("a", "two", std::string_view("123"),
              PutOptions{.content_type = "text/plain", .expires_at = kT0 + 1h});
  f.store.put("a/b", "x", std::string_view("1"), PutOptions{.expires_at = kT0 - 1s});
  f.advance(192s);

  const json all = f.run(LsCommand{}, true).document();
  REQUIRE(all.at("namespaces").size() == 2);
  CHECK(all.at("namespaces")[0] == json{{"name", "a"}, {"entries", 2}, {"bytes", 8}});
  CHECK(all.at("namespaces")[1] == json{{"name", "a/b"}, {"entries", 1}, {"bytes", 1}});

  const json entries = f.run(LsCommand{.ns = "a"}, true).document().at("entries");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].at("key") == "one");
  CHECK(entries[0].at("age_seconds") == 192.0);
  CHECK(entries[0].at("expires_in_seconds").is_null());
  CHECK(entries[1].at("key") == "two");
  CHECK(entries[1].at("expires_in_seconds") == 3600.0 - 192.0);
  CHECK(entries[1].at("meta").at("content_type") == "text/plain");
  CHECK(f.run(LsCommand{.ns = "a/b"}, true).document().at("entries")[0].at("expired") == true);

  const Result human = f.run(LsCommand{.ns = "a"});
  CHECK(human.code == kExitOk);
  CHECK(human.out.rfind("KEY", 0) == 0);
  CHECK(human.out.find("3m12s") != std::string::npos);
  CHECK(human.out.find("56m48s") != std::string::npos);  // 1h - 3m12s
  CHECK(f.run(LsCommand{}).out.find("8 B") != std::string::npos);
}

TEST_CASE("rm and rm-ns report what was there; missing targets exit 1 unless forced",
          "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k1", std::string_view("a"));
  f.store.put("ns", "k2", std::string_view("bb"));
  f.store.put("ns/sub", "k", std::string_view("c"));

  CHECK(f.run(RmCommand{.ns = "ns", .key = "k1"}).code == kExitOk);
  CHECK_FALSE(f.store.get("ns", "k1"));
  const Result again = f.run(RmCommand{.ns = "ns", .key = "k1"});
  CHECK(again.code == kExitNotFound);
  CHECK(again.err.find("entry_not_found") != std::string::npos);
  CHECK(f.run(RmCommand{.ns = "ns", .key = "k1", .force = true}, true).document().at("removed") ==
        false);

  const json removed = f.run(RmNsCommand{.ns = "ns"}, true).document();
  CHECK(removed.at("entries") == 1);
  CHECK(removed.at("bytes") == 2);
  CHECK(f.store.list("ns").empty());
  CHECK(f.store.list("ns/sub").size() == 1);  // a namespace is a name, not a folder
  CHECK(f.run(RmNsCommand{.ns = "ns"}).code == kExitNotFound);
  CHECK(f.run(RmNsCommand{.ns = "ns", .force = true}).code == kExitOk);
}

TEST_CASE("clean erases expired entries in one or every namespace", "[tool][commands]") {
  Fixture f;
  f.store.put("a", "old", std::string_view("x"), PutOptions{.expires_at = kT0 - 1h});
  f.store.put("a", "new", std::string_view("x"), PutOptions{.expires_at = kT0 + 1h});
  f.store.put("b", "old", std::string_view("x"), PutOptions{.expires_at = kT0 - 1s});
  f.store.put("b", "ttl", std::string_view("x"));
  f.advance(10min);

  const json one = f.run(CleanCommand{.ns = "a"}, true).document();
  CHECK(one.at("erased") == 1);
  CHECK(f.store.list("b").size() == 2);

  const Result all = f.run(CleanCommand{});
  CHECK(all.code == kExitOk);
  CHECK(all.out.find("erased 1 expired entry") != std::string::npos);
  CHECK(f.store.list("b").size() == 1);

  CHECK(f.run(CleanCommand{.ttl = 5min}, true).document().at("erased") == 1);
  CHECK(f.store.list("b").empty());
  CHECK(f.store.list("a").size() == 1);
}

TEST_CASE("info describes the store and the file set", "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k", std::string_view("abc"));
  { std::ofstream(f.dir / "cache.db") << "0123456789"; }
  const json info = f.run(InfoCommand{}, true).document();
  CHECK(info.at("files").at("db").at("bytes") == 10);
  CHECK(info.at("files").at("wal").at("bytes").is_null());
  CHECK(info.at("entries") == 1);
  CHECK(info.at("bytes") == 3);
  CHECK(f.run(InfoCommand{}).out.find("(absent)") != std::string::npos);
}

TEST_CASE("check --deep reports entries whose bytes do not match their etag", "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "good", std::string_view("fine"));
  CHECK(f.run(CheckCommand{}).code == kExitOk);
  const json ok = f.run(CheckCommand{.deep = true}, true).document();
  CHECK(ok.at("ok") == true);
  CHECK(ok.at("entries_checked") == 1);

  f.store.reads = FaultyStore::Reads::flip_a_byte;
  const Result bad = f.run(CheckCommand{.deep = true}, true);
  CHECK(bad.code == kExitFailure);
  CHECK(bad.err.find("corrupt") != std::string::npos);
  const json report = bad.document();
  CHECK(report.at("ok") == false);
  REQUIRE(report.at("failures").size() == 1);
  CHECK(report.at("failures")[0].at("key") == "good");
}

TEST_CASE("library errors map to exit codes with the Errc name", "[tool][commands]") {
  Fixture f;
  f.store.put("ns", "k", std::string_view("v"));
  f.store.read_only = true;
  const Result put = f.run(PutCommand{.ns = "ns", .key = "k2"}, false, "x");
  CHECK(put.code == kExitFailure);
  CHECK(put.err.find("read_only") != std::string::npos);
  CHECK(f.run(RmCommand{.ns = "ns", .key = "k"}).code == kExitFailure);
  CHECK(f.run(LsCommand{.ns = "bad//ns"}).code == kExitUsage);
}

// ---- Regressions of issue 10 (defects 3 and 4, the tool's rough edges) ----

TEST_CASE("put regression: a --ttl whose expiry a TimePoint cannot hold is a usage error",
          "[tool][commands][regression]") {
  Fixture f;
  // kT0 + 99999d is past 2262-04-11: it wrapped to 1716 and clean erased it.
  PutCommand put{.ns = "d", .key = "k"};
  put.ttl = 99'999 * 24h;
  const Result refused = f.run(put, false, "hi");
  CHECK(refused.code == kExitUsage);
  CHECK(refused.err.find("2262-04-11T23:47:16.854775807Z") != std::string::npos);
  CHECK(refused.err.find("1677-09-21T00:12:43.145224192Z") != std::string::npos);
  CHECK_FALSE(f.store.get("d", "k").has_value());

  // The last representable instant itself is fine.
  put.ttl = TimePoint::max() - kT0;
  const Result stored = f.run(put, true, "hi");
  REQUIRE(stored.code == kExitOk);
  CHECK(stored.document().at("meta").at("expires_at") == "2262-04-11T23:47:16.854775807Z");
  CHECK(f.run(CleanCommand{}, true).document().at("erased") == 0);
}

TEST_CASE("put regression: --ttl 0 means never, as for clean --ttl and Policy",
          "[tool][commands][regression]") {
  Fixture f;
  PutCommand put{.ns = "ns", .key = "k"};
  put.ttl = Duration::zero();
  const Result stored = f.run(put, true, "v");
  REQUIRE(stored.code == kExitOk);
  CHECK(stored.document().at("meta").at("expires_at").is_null());
  f.advance(24h * 365);
  CHECK(f.run(CleanCommand{}, true).document().at("erased") == 0);
  CHECK(f.run(CleanCommand{.ttl = Duration::zero()}, true).document().at("erased") == 0);
  CHECK(f.store.get("ns", "k").has_value());
}

TEST_CASE("ls --json regression: expired agrees with what clean erases",
          "[tool][commands][regression]") {
  Fixture f;
  const TimePoint year_1700 = TimePoint{} - 8'520'336'000s;  // 1700-01-01: beyond a Duration
  const std::vector<std::pair<std::string, TimePoint>> expiries{
      {"1700", year_1700}, {"min", TimePoint::min()}, {"past", kT0 - 1ns},
      {"now", kT0},        {"future", kT0 + 1ns},     {"max", TimePoint::max()},
  };
  for (const auto& [key, at] : expiries) {
    f.store.put("ns", key, std::string_view("x"), PutOptions{.expires_at = at});
  }
  f.store.put("ns", "never", std::string_view("x"));
  const json listed = f.run(LsCommand{.ns = "ns"}, true).document().at("entries");
  std::set<std::string> shown_expired;
  for (const json& entry : listed) {
    CAPTURE(entry.dump());
    if (entry.at("expired") == true) shown_expired.insert(entry.at("key"));
    if (!entry.at("expires_in_seconds").is_null()) {
      CHECK((entry.at("expires_in_seconds").get<double>() < 0) == entry.at("expired").get<bool>());
    }
  }
  CHECK(shown_expired == std::set<std::string>{"1700", "min", "past"});
  CHECK(f.run(CleanCommand{.ns = "ns"}, true).document().at("erased") == shown_expired.size());
  for (const std::string& key : shown_expired) CHECK_FALSE(f.store.get("ns", key).has_value());
  CHECK(f.store.list("ns").size() == expiries.size() + 1 - shown_expired.size());
  CHECK(f.run(LsCommand{.ns = "ns"}).out.find("expired") == std::string::npos);
}

TEST_CASE("put regression: a missing input file exits 3 (io), not 1 (not found)",
          "[tool][commands][regression]") {
  Fixture f;
  const Result missing =
      f.run(PutCommand{.ns = "ns", .key = "k", .input = (f.dir / "none").string()});
  CHECK(missing.code == kExitFailure);
  CHECK(missing.err.rfind("blobcache: io: put \"ns\"/\"k\": cannot open ", 0) == 0);
  CHECK(missing.err.find("No such file or directory") != std::string::npos);
  CHECK_FALSE(f.store.get("ns", "k").has_value());
}

TEST_CASE("ls regression: a namespace without entries exits 1, as rm-ns does",
          "[tool][commands][regression]") {
  Fixture f;
  f.store.put("other", "k", std::string_view("v"));
  const Result ls = f.run(LsCommand{.ns = "nothere"});
  const Result rm_ns = f.run(RmNsCommand{.ns = "nothere"});
  CHECK(ls.code == kExitNotFound);
  CHECK(rm_ns.code == ls.code);
  CHECK(ls.err.find("ls \"nothere\": no such namespace") != std::string::npos);
  CHECK(rm_ns.err.find("rm-ns \"nothere\": no such namespace") != std::string::npos);
  CHECK(f.run(RmNsCommand{.ns = "nothere", .force = true}).code == kExitOk);
  CHECK(f.run(LsCommand{.ns = "other"}).code == kExitOk);
}

TEST_CASE("--json regression: a failure prints a JSON error object on stdout too",
          "[tool][commands][regression]") {
  Fixture f;
  const Result missing = f.run(GetCommand{.ns = "ns", .key = "nope", .output = f.dir / "o"}, true);
  CHECK(missing.code == kExitNotFound);
  CHECK(missing.document() == json{{"error",
                                    {{"code", "entry_not_found"},
                                     {"message", "get \"ns\"/\"nope\": no such entry"},
                                     {"exit_code", 1},
                                     {"db", (f.dir / "cache.db").string()}}}});
  CHECK(missing.err == "blobcache: entry_not_found: get \"ns\"/\"nope\": no such entry (db: " +
                           (f.dir / "cache.db").string() + ")\n");

  f.store.read_only = true;
  const Result refused = f.run(PutCommand{.ns = "ns", .key = "k"}, true, "x");
  CHECK(refused.code == kExitFailure);
  CHECK(refused.document().at("error").at("code") == "read_only");
  // Without --json stdout stays empty.
  CHECK(f.run(PutCommand{.ns = "ns", .key = "k"}, false, "x").out.empty());
}

TEST_CASE("messages regression: each failure reads as one sentence",
          "[tool][commands][regression]") {
  Fixture f;
  const std::string db = " (db: " + (f.dir / "cache.db").string() + ")\n";
  CHECK(f.run(GetCommand{.ns = "ns", .key = "k"}).err ==
        "blobcache: entry_not_found: get \"ns\"/\"k\": no such entry" + db);
  CHECK(f.run(RmCommand{.ns = "ns", .key = "k"}).err ==
        "blobcache: entry_not_found: rm \"ns\"/\"k\": no such entry" + db);
  CHECK(f.run(GetCommand{.ns = "ns", .key = "../k"}).err ==
        "blobcache: invalid_key: open \"ns\"/\"../k\": the key has a '.' or '..' segment" + db);
}

TEST_CASE("put --if-match and --if-absent: a failed condition exits 4 and writes nothing",
          "[tool][commands]") {
  Fixture f;
  const auto put = [&](std::optional<std::string> if_match, const std::string& value) {
    PutCommand command{.ns = "ns", .key = "k"};
    command.options.if_match = std::move(if_match);
    return f.run(command, true, value);
  };
  const Result created = put("", "v1");  // --if-absent
  REQUIRE(created.code == kExitOk);
  const std::string first = created.document().at("meta").at("etag");

  const Result exists = put("", "v2");
  CHECK(exists.code == kExitPreconditionFailed);
  CHECK(exists.document().at("error").at("code") == "precondition_failed");
  CHECK(exists.document().at("error").at("exit_code") == 4);
  CHECK(exists.err.find("blobcache: precondition_failed: ") == 0);
  CHECK(f.store.get("ns", "k")->text() == "v1");

  const Result replaced = put(first, "v3");  // --if-match with the current etag
  REQUIRE(replaced.code == kExitOk);
  CHECK(f.store.get("ns", "k")->text() == "v3");

  const Result stale = put(first, "v4");  // the etag has moved on
  CHECK(stale.code == kExitPreconditionFailed);
  CHECK(stale.document().at("error").at("message").get<std::string>().find(first) !=
        std::string::npos);
  CHECK(f.store.get("ns", "k")->text() == "v3");

  PutCommand absent{.ns = "ns", .key = "new"};
  absent.options.if_match = first;  // no entry: --if-match cannot hold
  CHECK(f.run(absent, false, "v").code == kExitPreconditionFailed);
  CHECK_FALSE(f.store.get("ns", "new").has_value());
}

// ---- stats, limit, trim, compact (issue 12) ----

// The line of `text` that starts with `field` (a FIELD VALUE listing).
std::string line_of(const std::string& text, const std::string& field) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(field + " ", 0) == 0) return line;
  }
  return "(no line " + field + ")";
}

// Collapses runs of blanks, so that a check does not depend on column widths.
std::string squeezed(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

TEST_CASE("stats shows hits, misses, hit rate, expirations, entries and bytes per namespace",
          "[tool][commands][stats]") {
  Fixture f;
  f.store.put("a", "one", std::string_view("12345"));
  f.store.put("a", "two", std::string_view("123"));
  f.store.put("b", "x", std::string_view("1"));
  f.store.put("b", "old", std::string_view("22"), PutOptions{.expires_at = kT0 - 1s});
  CHECK(f.store.get("a", "one"));
  CHECK(f.store.open("a", "one"));
  CHECK_FALSE(f.store.get("a", "nope"));
  CHECK(f.store.get("b", "x"));
  CHECK_FALSE(f.store.get("c", "none"));
  CHECK(f.store.erase_expired("b", kT0, Duration::zero()) == 1);

  const Result result = f.run(StatsCommand{}, true);
  REQUIRE(result.code == kExitOk);
  const json stats = result.document();
  CHECK(stats.at("db") == (f.dir / "cache.db").string());
  CHECK(stats.at("backend") == "memory");
  CHECK(stats.at("hits") == 3);
  CHECK(stats.at("misses") == 2);
  CHECK(stats.at("hit_rate") == 0.6);
  CHECK(stats.at("evictions") == 0);
  CHECK(stats.at("expirations") == 1);
  CHECK(stats.at("entries") == 3);
  CHECK(stats.at("bytes") == 9);
  CHECK(stats.at("file_bytes") == 0);
  CHECK(stats.at("limits") ==
        json{{"max_bytes", 0}, {"max_entries", 0}, {"eviction", nullptr}});  // no policy here
  const json& spaces = stats.at("namespaces");
  REQUIRE(spaces.size() == 3);
  CHECK(spaces[0] == json{{"name", "a"},
                          {"entries", 2},
                          {"bytes", 8},
                          {"hits", 2},
                          {"misses", 1},
                          {"hit_rate", 2.0 / 3.0},
                          {"evictions", 0},
                          {"expirations", 0}});
  CHECK(spaces[1] == json{{"name", "b"},
                          {"entries", 1},
                          {"bytes", 1},
                          {"hits", 1},
                          {"misses", 0},
                          {"hit_rate", 1.0},
                          {"evictions", 0},
                          {"expirations", 1}});
  CHECK(spaces[2] == json{{"name", "c"},
                          {"entries", 0},
                          {"bytes", 0},
                          {"hits", 0},
                          {"misses", 1},
                          {"hit_rate", 0.0},
                          {"evictions", 0},
                          {"expirations", 0}});

  const Result text = f.run(StatsCommand{});
  REQUIRE(text.code == kExitOk);
  CAPTURE(text.out);
  CHECK(squeezed(line_of(text.out, "hits")) == "hits 3");
  CHECK(squeezed(line_of(text.out, "misses")) == "misses 2");
  CHECK(squeezed(line_of(text.out, "hit rate")) == "hit rate 60.0 %");
  CHECK(squeezed(line_of(text.out, "expirations")) == "expirations 1");
  CHECK(squeezed(line_of(text.out, "entries")) == "entries 3");
  CHECK(squeezed(line_of(text.out, "bytes")) == "bytes 9 B");
  CHECK(squeezed(line_of(text.out, "file size")) == "file size -");
  CHECK(squeezed(line_of(text.out, "max_bytes")) == "max_bytes none");
  CHECK(line_of(text.out, "eviction").find("no line") != std::string::npos);
  CHECK(squeezed(text.out).find(
            "\nNAMESPACE ENTRIES BYTES HITS MISSES HIT RATE EVICTIONS EXPIRATIONS\n"
            "a 2 8 B 2 1 66.7 % 0 0\nb 1 1 B 1 0 100.0 % 0 1\nc 0 0 B 0 1 0.0 % 0 0\n") !=
        std::string::npos);
}

TEST_CASE("stats on an unused store: no hit rate, no namespaces", "[tool][commands][stats]") {
  Fixture f;
  const json stats = f.run(StatsCommand{}, true).document();
  CHECK(stats.at("hit_rate").is_null());
  CHECK(stats.at("namespaces") == json::array());
  const Result text = f.run(StatsCommand{});
  CHECK(squeezed(line_of(text.out, "hit rate")) == "hit rate -");
  CHECK(text.out.find("NAMESPACE") == std::string::npos);
}

TEST_CASE("stats --zero zeroes the counters, not the entries or bytes", "[tool][commands][stats]") {
  Fixture f;
  f.store.put("a", "k", std::string_view("abc"));
  CHECK(f.store.get("a", "k"));
  CHECK_FALSE(f.store.get("a", "missing"));
  REQUIRE(f.store.stats().hits == 1);
  const Result zeroed = f.run(StatsCommand{.zero = true}, true);
  REQUIRE(zeroed.code == kExitOk);
  const json stats = zeroed.document();
  CHECK(stats.at("hits") == 0);
  CHECK(stats.at("misses") == 0);
  CHECK(stats.at("entries") == 1);
  CHECK(stats.at("bytes") == 3);
  CHECK(f.store.stats().hits == 0);
  CHECK(f.store.get("a", "k"));
  CHECK(f.run(StatsCommand{}, true).document().at("hits") == 1);  // counting goes on
}

TEST_CASE("limit, trim and compact need a SQLite cache file: unsupported elsewhere",
          "[tool][commands][limits]") {
  Fixture f;
  f.store.put("a", "k", std::string_view("abc"));
  const std::vector<std::pair<std::string, Command>> commands{
      {"limit", LimitCommand{}},
      {"limit", LimitCommand{.max_bytes = 1 << 20}},
      {"trim", TrimCommand{}},
      {"compact", CompactCommand{}}};
  for (const auto& [name, command] : commands) {
    CAPTURE(name);
    const Result result = f.run(command, true);
    CHECK(result.code == kExitFailure);
    CHECK(result.err.rfind("blobcache: unsupported: " + name +
                               ": the memory backend has no "
                               "limits or file of its own",
                           0) == 0);
    CHECK(result.document().at("error").at("code") == "unsupported");
  }
  CHECK(f.store.get("a", "k"));
}

// A real SQLite file in a temp dir, for the commands only a SqliteStore has.
class SqliteFixture {
 public:
  Result run(const Command& command, bool json_output = false) {
    return run_on(store, &store, db, command, json_output, std::chrono::system_clock::now());
  }
  // `count` entries of `size` bytes in "ns", keys k000, k001, ... in put order.
  void fill(int count, std::size_t size) {
    const std::string value(size, 'v');
    for (int i = 0; i < count; ++i) store.put("ns", key(i), std::string_view(value));
  }
  static std::string key(int i) {
    std::string digits = std::to_string(i);
    return "k" + std::string(3 - digits.size(), '0') + digits;
  }

  test::TempDir dir;
  std::filesystem::path db = dir / "cache.db";
  SqliteStore store{SqliteOptions{.path = db}};
};

TEST_CASE("limit without options prints the limits in force", "[tool][commands][limits]") {
  SqliteFixture f;
  const Result none = f.run(LimitCommand{});
  REQUIRE(none.code == kExitOk);
  CHECK(squeezed(none.out) == "max_bytes none\nmax_entries none\neviction least_recently_stored\n");
  f.store.set_limits(Limits{.max_bytes = 500 << 20,
                            .max_entries = 1000,
                            .eviction = EvictionPolicy::least_recently_used});
  const Result set = f.run(LimitCommand{});
  CHECK(squeezed(set.out) ==
        "max_bytes 500.0 MiB (524288000 bytes)\nmax_entries 1000\neviction least_recently_used\n");
  CHECK(f.run(LimitCommand{}, true).document() == json{{"db", f.db.string()},
                                                       {"limits",
                                                        {{"max_bytes", 524288000},
                                                         {"max_entries", 1000},
                                                         {"eviction", "least_recently_used"}}}});
}

TEST_CASE("limit sets the fields given, keeps the others, and evicts at once",
          "[tool][commands][limits]") {
  SqliteFixture f;
  f.fill(20, 8 * 1024);  // 160 KiB

  const Result bytes = f.run(LimitCommand{.max_bytes = 64 * 1024}, true);
  REQUIRE(bytes.code == kExitOk);
  CHECK(bytes.document().at("limits") ==
        json{{"max_bytes", 65536}, {"max_entries", 0}, {"eviction", "least_recently_stored"}});
  CHECK(f.store.limits() == Limits{.max_bytes = 65536});
  Stats stats = f.store.stats();
  CHECK(stats.bytes <= 65536);
  CHECK(stats.evictions == static_cast<std::uint64_t>(20 - stats.entries));
  CHECK(f.store.get("ns", SqliteFixture::key(19)));  // the newest stay
  CHECK_FALSE(f.store.get("ns", SqliteFixture::key(0)));

  REQUIRE(f.run(LimitCommand{.max_entries = 3}).code == kExitOk);
  CHECK(f.store.limits() == Limits{.max_bytes = 65536, .max_entries = 3});
  CHECK(f.store.stats().entries <= 3);

  const Result policy = f.run(LimitCommand{.eviction = EvictionPolicy::least_recently_used});
  REQUIRE(policy.code == kExitOk);
  CHECK(squeezed(policy.out) ==
        "max_bytes 64.0 KiB (65536 bytes)\nmax_entries 3\neviction least_recently_used\n");
  CHECK(f.store.limits() == Limits{.max_bytes = 65536,
                                   .max_entries = 3,
                                   .eviction = EvictionPolicy::least_recently_used});

  REQUIRE(f.run(LimitCommand{.none = true}).code == kExitOk);
  CHECK(f.store.limits() == Limits{.eviction = EvictionPolicy::least_recently_used});
  f.fill(20, 8 * 1024);
  CHECK(f.store.stats().entries == 20);  // unbounded again

  // 0 turns one bound off.
  REQUIRE(f.run(LimitCommand{.max_bytes = 1 << 20, .max_entries = 5}).code == kExitOk);
  REQUIRE(f.run(LimitCommand{.max_entries = 0}).code == kExitOk);
  CHECK(f.store.limits().max_bytes == 1 << 20);
  CHECK(f.store.limits().max_entries == 0);
}

TEST_CASE("limit refuses bad values with exit 2 and changes nothing", "[tool][commands][limits]") {
  SqliteFixture f;
  f.fill(10, 1024);
  const Limits before{.max_bytes = 1 << 20, .max_entries = 100};
  f.store.set_limits(before);
  // What the command line refuses first; run() gets them from other callers.
  const LimitCommand bad = GENERATE(LimitCommand{.max_bytes = -1}, LimitCommand{.max_entries = -1},
                                    LimitCommand{.max_bytes = 4095}, LimitCommand{.max_bytes = 1},
                                    LimitCommand{.eviction = static_cast<EvictionPolicy>(7)});
  const Result refused = f.run(bad, true);
  CHECK(refused.code == kExitUsage);
  CHECK(refused.err.rfind("blobcache: invalid_argument: set_limits", 0) == 0);
  CHECK(refused.err.find("nothing changed") != std::string::npos);
  CHECK(refused.document().at("error").at("exit_code") == kExitUsage);
  CHECK(f.store.limits() == before);
  CHECK(f.store.stats().entries == 10);
}

TEST_CASE("trim evicts down to 90 % of the limits, oldest first, and prints what it removed",
          "[tool][commands][limits]") {
  SqliteFixture f;
  const Result unbounded = f.run(TrimCommand{});
  REQUIRE(unbounded.code == kExitOk);
  CHECK(unbounded.out ==
        "evicted 0 entries, 0 B (the cache has no limits: set them with blobcache limit)\n");

  f.fill(10, 1000);
  // A full cache: 10 entries against a bound of 10. Its high watermark (95 %,
  // rounded up) is 10 too, so no background trim starts on its own; trim
  // goes down to 9 (90 %).
  f.store.set_limits(Limits{.max_entries = 10});
  const Result trimmed = f.run(TrimCommand{}, true);
  REQUIRE(trimmed.code == kExitOk);
  CHECK(trimmed.document() ==
        json{{"db", f.db.string()},
             {"evicted", {{"entries", 1}, {"bytes", 1000}}},
             {"limits",
              {{"max_bytes", 0}, {"max_entries", 10}, {"eviction", "least_recently_stored"}}}});
  CHECK(f.store.stats().entries == 9);
  CHECK_FALSE(f.store.get("ns", SqliteFixture::key(0)));
  CHECK(f.store.get("ns", SqliteFixture::key(1)));

  f.fill(10, 1000);  // rewrites k000..k009: 10 entries again, within the bound
  REQUIRE(f.store.stats().entries == 10);
  CHECK(f.run(TrimCommand{}).out == "evicted 1 entry, 1000 B\n");
  CHECK(f.run(TrimCommand{}).out == "evicted 0 entries, 0 B\n");
  CHECK(f.store.stats().evictions == 2);
}

TEST_CASE("compact after an erase shrinks the file and prints both sizes",
          "[tool][commands][limits]") {
  SqliteFixture f;
  f.store.put("ns", "small", std::string_view("kept"));
  f.store.put("ns", "big", std::string_view(std::string(std::size_t{4} << 20, 'x')));
  f.store.erase("ns", "big");

  const Result compacted = f.run(CompactCommand{}, true);
  REQUIRE(compacted.code == kExitOk);
  const json sizes = compacted.document();
  CHECK(sizes.at("db") == f.db.string());
  const std::int64_t before = sizes.at("bytes_before");
  const std::int64_t after = sizes.at("bytes_after");
  CHECK(before >= std::int64_t{4} << 20);  // the freed pages were still in the file
  CHECK(after < std::int64_t{1} << 20);
  std::error_code no_wal;
  CHECK(static_cast<std::int64_t>(std::filesystem::file_size(f.db)) +
            static_cast<std::int64_t>(std::filesystem::file_size(f.db.string() + "-wal", no_wal) *
                                      (no_wal ? 0 : 1)) ==
        after);
  CHECK(f.store.get("ns", "small")->text() == "kept");

  const Result again = f.run(CompactCommand{});
  REQUIRE(again.code == kExitOk);
  CHECK(again.out == "compacted " + f.db.string() + ": " + format_size(after) + " -> " +
                         format_size(after) + "\n");
}

TEST_CASE("info and stats show the limits of a SQLite file", "[tool][commands][limits]") {
  SqliteFixture f;
  f.fill(3, 100);
  f.store.set_limits(Limits{.max_bytes = 1 << 20, .max_entries = 10});
  CHECK(f.store.get("ns", SqliteFixture::key(0)));
  CHECK_FALSE(f.store.get("ns", "absent"));

  const json info = f.run(InfoCommand{}, true).document();
  CHECK(info.at("limits") ==
        json{{"max_bytes", 1 << 20}, {"max_entries", 10}, {"eviction", "least_recently_stored"}});
  const Result info_text = f.run(InfoCommand{});
  CHECK(squeezed(line_of(info_text.out, "max_bytes")) == "max_bytes 1.0 MiB (1048576 bytes)");
  CHECK(squeezed(line_of(info_text.out, "max_entries")) == "max_entries 10");
  CHECK(squeezed(line_of(info_text.out, "eviction")) == "eviction least_recently_stored");

  const json stats = f.run(StatsCommand{}, true).document();
  CHECK(stats.at("backend") == "sqlite");
  CHECK(stats.at("limits") == info.at("limits"));
  CHECK(stats.at("hits") == 1);
  CHECK(stats.at("misses") == 1);
  CHECK(stats.at("entries") == 3);
  CHECK(stats.at("bytes") == 300);
  CHECK(stats.at("file_bytes").get<std::int64_t>() > 0);
  const Result text = f.run(StatsCommand{});
  CHECK(squeezed(line_of(text.out, "entries")) == "entries 3 / 10 (30.0 %)");
  CHECK(squeezed(line_of(text.out, "bytes")) == "bytes 300 B / 1.0 MiB (0.0 %)");
  CHECK(squeezed(line_of(text.out, "eviction")) == "eviction least_recently_stored");
  CHECK(line_of(text.out, "file size").find("KiB") != std::string::npos);
}

}  // namespace
}  // namespace blobcache::tool
