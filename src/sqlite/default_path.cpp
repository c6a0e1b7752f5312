// SqliteStore::default_path: the platform's per-user cache folder.
#include <cstdlib>
#include <string>

#include "blobcache/names.hpp"
#include "blobcache/sqlite_store.hpp"

#include "errors.hpp"

namespace blobcache {
namespace {

std::filesystem::path env_path(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
  if (value == nullptr || *value == '\0') return {};
  std::filesystem::path path(value);
  // The XDG spec says relative values are invalid and must be ignored.
  return path.is_absolute() ? path : std::filesystem::path{};
}

std::filesystem::path user_cache_folder() {
#if defined(_WIN32)
  if (auto local = env_path("LOCALAPPDATA"); !local.empty()) return local;
#elif defined(__APPLE__)
  if (auto home = env_path("HOME"); !home.empty()) return home / "Library" / "Caches";
#else
  if (auto xdg = env_path("XDG_CACHE_HOME"); !xdg.empty()) return xdg;
  if (auto home = env_path("HOME"); !home.empty()) return home / ".cache";
#endif
  detail::throw_error(Errc::invalid_argument,
                      "default_path: no user cache folder is known (set XDG_CACHE_HOME or HOME)");
}

}  // namespace

std::filesystem::path SqliteStore::default_path(std::string_view app) {
  if (app.find('/') != std::string_view::npos || !is_valid_name(app)) {
    detail::throw_error(Errc::invalid_argument, "default_path: app name \"" + std::string(app) +
                                                    "\" must be one valid name segment");
  }
  return user_cache_folder() / std::string(app) / "blobcache.db";
}

}  // namespace blobcache
