// The tool's commands run against a MemoryStore (and a faulty wrapper of
// one), without the binary: output, JSON documents and exit codes.
#include "commands.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "blobcache/blobcache.hpp"

#include "../fixed_clock.hpp"
#include "../temp_dir.hpp"
#include "catch_compat.hpp"
#include "format.hpp"

namespace blobcache::tool {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

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

class Fixture {
 public:
  Fixture() : clock_(std::make_shared<test::FixedClock>(kT0)), store(clock_) {}

  Result run(const Command& command, bool json_output = false, std::string input = {}) {
    std::istringstream in(std::move(input));
    std::ostringstream out;
    std::ostringstream err;
    Context context{.store = store,
                    .db = dir / "cache.db",
                    .json = json_output,
                    .in = in,
                    .out = out,
                    .err = err,
                    .now = clock_->now()};
    const int code = tool::run(context, command);
    return {code, out.str(), err.str()};
  }
  void advance(Duration d) { clock_->advance(d); }

 private:
  std::shared_ptr<test::FixedClock> clock_;

 public:
  FaultyStore store;
  test::TempDir dir;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

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

}  // namespace
}  // namespace blobcache::tool
