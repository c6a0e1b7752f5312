// SqliteStore: the store contract and the guarantees of the SQLite backend.
#include "blobcache/sqlite_store.hpp"

#include "blobcache/testing/contract.hpp"
#include "catch_compat.hpp"
#include "temp_dir.hpp"

namespace blobcache {
namespace {

using namespace std::chrono_literals;

TEST_CASE("SqliteStore keeps the store contract", "[sqlite][contract]") {
  const test::TempDir dir;
  testing::run_store_contract({
      .open = [&](const std::string& backing) -> std::shared_ptr<Store> {
        return std::make_shared<SqliteStore>(SqliteOptions{.path = dir / (backing + ".db")});
      },
      .persistent = true,
  });
}

}  // namespace
}  // namespace blobcache
