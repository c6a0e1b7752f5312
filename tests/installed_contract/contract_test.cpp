// A backend's test as an outside project writes it, built against the
// installed library by `pkg-config blobcache-testing` alone (run.sh): the
// contract suite run on SqliteStore, in a temporary folder.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#include <catch2/catch_test_macros.hpp>
int main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
#else
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif

#include <blobcache/blobcache.hpp>
#include <blobcache/testing/contract.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

TEST_CASE("an installed blobcache-testing runs the contract suite") {
  std::string folder = (std::filesystem::temp_directory_path() / "contract-XXXXXX").string();
  REQUIRE(mkdtemp(folder.data()) != nullptr);
  const std::filesystem::path root = folder;
  blobcache::testing::run_store_contract({
      .open = [&](const std::string& backing) -> std::shared_ptr<blobcache::Store> {
        return std::make_shared<blobcache::SqliteStore>(
            blobcache::SqliteOptions{.path = root / (backing + ".db")});
      },
      .counts_hits = false,
  });
  std::filesystem::remove_all(root);
}
