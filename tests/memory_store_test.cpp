#include "blobcache/memory_store.hpp"

#include "blobcache/testing/contract.hpp"

#include "catch_compat.hpp"
#include "fixed_clock.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;

TEST_CASE("MemoryStore keeps the store contract", "[memory][contract]") {
  // One MemoryStore per backing name, alive as long as the test case.
  std::map<std::string, std::shared_ptr<Store>> stores;
  testing::run_store_contract({
      .open = [&](const std::string& backing) -> std::shared_ptr<Store> {
        auto& store = stores[backing];
        if (!store) store = std::make_shared<MemoryStore>("mem://" + backing);
        return store;
      },
      .persistent = false,
  });
}

TEST_CASE("MemoryStore describes itself with the root it was given", "[memory]") {
  const MemoryStore store("/some/root");
  const Info info = store.describe();
  CHECK(info.backend == "memory");
  CHECK(info.root == "/some/root");
  CHECK(info.supports_list);
  CHECK(info.supports_stream);
  CHECK(info.supports_delete_namespace);
}

TEST_CASE("MemoryStore stamps updated_at with its clock", "[memory]") {
  const TimePoint start = TimePoint{} + 1'700'000'000s + 5ns;
  auto clock = std::make_shared<test::FixedClock>(start);
  MemoryStore store({}, clock);
  CHECK(store.put("ns", "k", std::string_view("v")).updated_at == start);
  clock->advance(90s);
  CHECK(store.put("ns", "k2", std::string_view("v")).updated_at == start + 90s);
  CHECK(store.get("ns", "k")->meta.updated_at == start);
}

}  // namespace
}  // namespace blobcache
