#include "json_output.hpp"

#include <ostream>

#include "format.hpp"

namespace blobcache::tool {

nlohmann::json meta_json(const Meta& meta) {
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [name, value] : meta.metadata) metadata[name] = value;
  return {
      {"size", meta.size},
      {"updated_at", format_time(meta.updated_at)},
      {"expires_at", meta.expires_at ? nlohmann::json(format_time(*meta.expires_at)) : nullptr},
      {"etag", meta.etag},
      {"content_type", meta.content_type},
      {"metadata", std::move(metadata)},
  };
}

nlohmann::json limits_json(const Limits& limits) {
  return {{"max_bytes", limits.max_bytes},
          {"max_entries", limits.max_entries},
          {"eviction", eviction_name(limits.eviction)}};
}

double seconds_json(Duration d) { return std::chrono::duration<double>(d).count(); }

void print_json(std::ostream& out, const nlohmann::json& document) {
  out << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace blobcache::tool
