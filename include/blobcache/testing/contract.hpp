// The backend contract suite (Meson dependency `blobcache-testing`, needs
// Catch2). Register every new backend against it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "blobcache/store.hpp"

namespace blobcache::testing {

struct StoreContract {
  // Opens a store over the storage named `backing`; two calls with one name
  // see the same data (for a non-persistent backend: while an instance lives,
  // return that instance). Each SECTION uses fresh backing names.
  std::function<std::shared_ptr<Store>(const std::string& backing)> open;
  // Data outlives every instance (false for MemoryStore).
  bool persistent = true;
  // stats() counts hits and misses (false for a backend that keeps the
  // Store default, which reports them as 0).
  bool counts_hits = true;
};

// Call inside a Catch2 TEST_CASE; each guarantee runs as its own SECTION.
void run_store_contract(const StoreContract& contract);

}  // namespace blobcache::testing
