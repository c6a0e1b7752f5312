// A consumer of the installed/subproject API: caches a value and reads it back.
#include <blobcache/blobcache.hpp>
#include <cstdio>

int main() {
  auto store = std::make_shared<blobcache::MemoryStore>();
  blobcache::Cache cache(store, "consumer", std::chrono::hours(1));
  cache.put("greeting", std::string_view("hello from a consumer"));
  const auto blob = cache.get("greeting");
  if (!blob || blob->text() != "hello from a consumer") return 1;
  std::printf("consumer: %s (blobcache %s)\n", std::string(blob->text()).c_str(),
              blobcache::kVersion);
  return 0;
}
