// TieredStore over two MemoryStores: the contract and the tier's own rules
// (tests/redis/tiered_store_test.cpp runs it over SqliteStore and Redis).
#include "blobcache/tiered_store.hpp"

#include <map>
#include <sstream>

#include "blobcache/memory_store.hpp"
#include "blobcache/testing/contract.hpp"

#include "catch_compat.hpp"
#include "errc_of.hpp"

namespace blobcache {
namespace {

using blobcache::test::errc_of;

TEST_CASE("TieredStore(MemoryStore, MemoryStore) passes the store contract") {
  std::map<std::string, std::shared_ptr<Store>> stores;
  testing::run_store_contract({.open = [&](const std::string& backing) -> std::shared_ptr<Store> {
                                 auto& store = stores[backing];
                                 if (!store) {
                                   store = std::make_shared<TieredStore>(
                                       std::make_shared<MemoryStore>("near"),
                                       std::make_shared<MemoryStore>("far"));
                                 }
                                 return store;
                               },
                               .persistent = false,
                               .counts_hits = true});
}

TEST_CASE("TieredStore needs two distinct stores") {
  auto store = std::make_shared<MemoryStore>();
  CHECK(errc_of([&] { TieredStore tier(nullptr, store); }) == Errc::invalid_argument);
  CHECK(errc_of([&] { TieredStore tier(store, nullptr); }) == Errc::invalid_argument);
  CHECK(errc_of([&] { TieredStore tier(store, store); }) == Errc::invalid_argument);
}

TEST_CASE("TieredStore: near keeps far's Meta in a reserved name, hidden from callers") {
  auto near = std::make_shared<MemoryStore>("near");
  auto far = std::make_shared<MemoryStore>("far");
  TieredStore tier(near, far);
  const Meta put = tier.put("ns", "k", std::string_view("v"), {.metadata = {{"a", "1"}}});
  CHECK(far->get("ns", "k")->meta == put);
  const Meta in_near = near->get("ns", "k")->meta;
  CHECK(in_near.metadata.size() == 2);  // a, and the reserved one
  CHECK(tier.get("ns", "k")->meta == put);
  CHECK(tier.open("ns", "k")->meta() == put);
  // A put_stream goes to far; near forgets its old copy.
  std::istringstream in("streamed");
  const Meta streamed = tier.put_stream("ns", "k", in);
  CHECK_FALSE(near->get("ns", "k").has_value());
  CHECK(tier.get("ns", "k")->meta == streamed);
  CHECK(near->get("ns", "k").has_value());  // copied on that get
  tier.erase("ns", "k");
  CHECK_FALSE(near->get("ns", "k").has_value());
  CHECK_FALSE(far->get("ns", "k").has_value());
  const Info info = tier.describe();
  CHECK(info.backend == "tiered");
  CHECK(info.root == "near -> far");
  CHECK(info.details.at("far") == "available");
}

}  // namespace
}  // namespace blobcache
