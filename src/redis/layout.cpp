#include "redis/layout.hpp"

namespace blobcache::detail::redis {

Layout::Layout(std::string_view prefix) {
  base_.append(prefix).append(":{").append(prefix).append("}:");
}

std::string Layout::named(std::string_view kind, std::string_view ns, std::string_view key) const {
  // The length makes the split unambiguous: names may contain ':'.
  std::string name = base_;
  name.append(kind).append(std::to_string(ns.size())).append(":").append(ns).append(":");
  name.append(key);
  return name;
}

std::string Layout::entry(std::string_view ns, std::string_view key) const {
  return named("e:", ns, key);
}

std::string Layout::lease(std::string_view ns, std::string_view key) const {
  return named("l:", ns, key);
}

std::string Layout::temp(std::string_view generation) const {
  return base_ + "t:" + std::string(generation);
}

std::string Layout::index(std::string_view ns) const { return base_ + "i:" + std::string(ns); }

std::string Layout::stats(std::string_view ns) const { return base_ + "s:" + std::string(ns); }

std::string Layout::namespaces() const { return base_ + "n"; }

std::string Layout::trash(std::string_view id) const { return base_ + "z:" + std::string(id); }

std::string Layout::trash_registry() const { return base_ + "zs"; }

}  // namespace blobcache::detail::redis
