// The key space the robustness workers share with the test that checks
// what they leave behind.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "blobcache/cache.hpp"

namespace blobcache::test {

// The keys every worker asks Cache::get_or_fill for ("f0" .. "f15"):
// short-lived entries, so that fills (and their leases) keep happening.
constexpr std::string_view kFillNamespace = "fill";
constexpr int kFillKeys = 16;
constexpr Duration kFillTtl = std::chrono::milliseconds(200);
// Short leases: a killed filler's lease blocks the others this long at most.
constexpr FillOptions kFillOptions{.lease = std::chrono::milliseconds(50), .stale_if_error = true};

inline std::string fill_key(int k) { return "f" + std::to_string(k); }

// The fill keys' Cache over `store`.
inline Cache fill_cache(std::shared_ptr<Store> store) {
  return Cache(std::move(store), std::string(kFillNamespace), Policy{.ttl = kFillTtl});
}

// Keys a reader writes once each, one after another ("t<seed>-<n>"), and
// asks for before and after it writes them.
constexpr std::string_view kTailNamespace = "tail";

inline std::string tail_key(unsigned seed, std::uint64_t n) {
  return "t" + std::to_string(seed) + "-" + std::to_string(n);
}

// Every namespace the kill loop's writers write.
inline std::set<std::string> writer_namespaces() {
  return {"ns0", "ns1", "ns2", "ns3", std::string(kFillNamespace), std::string(kTailNamespace)};
}

}  // namespace blobcache::test
