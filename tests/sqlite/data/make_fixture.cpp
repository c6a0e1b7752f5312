// Writes the same entries with whatever blobcache version it is built
// against: the old-version files kept in tests/sqlite/data/.
#include <blobcache/blobcache.hpp>
#include <cstdio>
#include <sstream>

using namespace blobcache;
using namespace std::chrono_literals;

struct FixedClock final : Clock {
  TimePoint now() const override { return TimePoint{} + 1'700'000'000'123'456'789ns; }
};

static Bytes pattern(std::size_t size, std::uint32_t seed) {
  Bytes bytes(size);
  std::uint32_t state = seed * 2654435761U + 1U;
  for (auto& b : bytes) {
    state = state * 1664525U + 1013904223U;
    b = static_cast<std::byte>(state >> 24);
  }
  return bytes;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto clock = std::make_shared<FixedClock>();
  SqliteStore store({.path = argv[1], .clock = clock});
  store.put("docs", "readme", std::string_view("hello, old version"),
            {.content_type = "text/plain",
             .expires_at = {},
             .metadata = {{"lang", "en"}, {"", "empty name"}}});
  store.put("docs", "expired", pattern(1000, 1),
            {.content_type = {},
             .expires_at = TimePoint{} + 1'600'000'000'000'000'000ns,
             .metadata = {}});
  store.put("docs", "later", pattern(5000, 2),
            {.content_type = {},
             .expires_at = TimePoint{} + 4'000'000'000'000'000'000ns,
             .metadata = {}});
  store.put("docs", "empty", std::string_view(""));
  store.put("media/video", "two-chunks", pattern(256 * 1024 + 4096, 3),
            {.content_type = "video/mp4"});
  std::istringstream stream(std::string(70'000, 'z'));
  store.put_stream("media/video", "streamed", stream);
  store.put("other", "a/b/c", pattern(100, 4));
  std::printf("ok\n");
}
