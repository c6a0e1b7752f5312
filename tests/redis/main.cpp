// The main of the Redis test programs: they need a real redis-server, and
// skip visibly (exit 77, which meson reports as SKIP) only when there is
// none on PATH.
#include <cstdio>

#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include "redis/redis_server.hpp"

int main(int argc, char* argv[]) {
  if (blobcache::test::find_on_path("redis-server").empty()) {
    std::fprintf(stderr, "SKIP: redis-server is not on PATH (scripts/deps.sh installs it)\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
