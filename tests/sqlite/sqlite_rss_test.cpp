// A 1 GiB value streams in and out of SqliteStore in constant memory: the
// child process doing it keeps its peak RSS under 64 MiB.
#include <array>
#include <cstring>
#include <istream>
#include <streambuf>

#include "blobcache/sqlite_store.hpp"

#include "catch_compat.hpp"
#include "processes.hpp"
#include "sanitized.hpp"
#include "sha256.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

constexpr std::int64_t kValueBytes = std::int64_t{1} << 30;
constexpr long kMaxRssKib = 64 * 1024;

// Generates `size` pseudo-random bytes on demand: the value never exists
// whole in memory.
class GeneratedBuffer final : public std::streambuf {
 public:
  explicit GeneratedBuffer(std::int64_t size) : left_(size) {}

 protected:
  int_type underflow() override {
    if (left_ == 0) return traits_type::eof();
    const auto n = static_cast<std::size_t>(std::min<std::int64_t>(left_, block_.size()));
    for (std::size_t i = 0; i < n; i += sizeof(state_)) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      std::memcpy(block_.data() + i, &state_, std::min(sizeof(state_), n - i));
    }
    left_ -= static_cast<std::int64_t>(n);
    setg(block_.data(), block_.data(), block_.data() + n);
    return traits_type::to_int_type(block_[0]);
  }

 private:
  std::array<char, 64 * 1024> block_{};
  std::int64_t left_;
  std::uint64_t state_ = 0x9E3779B97F4A7C15ULL;
};

TEST_CASE("child: stream 1 GiB in and out", "[.rss_child]") {
  SqliteStore store({.path = test::env_or_empty("BLOBCACHE_TEST_DB")});
  GeneratedBuffer generated(kValueBytes);
  std::istream in(&generated);
  const Meta meta = store.put_stream("big", "value", in);
  REQUIRE(meta.size == kValueBytes);
  auto reader = store.open("big", "value");
  REQUIRE(reader != nullptr);
  detail::Sha256 hash;
  std::array<std::byte, 64 * 1024> buffer{};
  std::int64_t total = 0;
  while (const std::size_t n = reader->read(buffer)) {
    hash.update(BytesView(buffer.data(), n));
    total += static_cast<std::int64_t>(n);
  }
  REQUIRE(total == kValueBytes);
  REQUIRE(hash.finish_hex() == meta.etag);
}

TEST_CASE("a 1 GiB put_stream and open() keep peak RSS under 64 MiB", "[sqlite][memory]") {
  const test::TempDir dir;
  const test::Exit result =
      test::run_self("[.rss_child]", {{"BLOBCACHE_TEST_DB", (dir / "big.db").string()}});
  INFO("child peak RSS: " << result.max_rss_kib << " KiB");
  CHECK(result.exited);
  CHECK(result.code == 0);
  CHECK(result.max_rss_kib > 0);
  if constexpr (blobcache::test::kSanitized) {
    // The sanitizers' quarantine and shadow memory dwarf the store's own use.
    WARN("sanitizer build: the RSS bound is not checked");
  } else {
    CHECK(result.max_rss_kib < kMaxRssKib);
  }
  WARN("1 GiB put_stream + open: child peak RSS " << result.max_rss_kib / 1024 << " MiB");
}

}  // namespace
}  // namespace blobcache
