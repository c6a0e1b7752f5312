#include "report.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "blobcache/error.hpp"

#include "json_output.hpp"
#include "parse.hpp"

namespace blobcache::tool {

Failure failure_of(const std::exception& error) {
  if (const auto* library = dynamic_cast<const Error*>(&error)) {
    int code = kExitFailure;
    switch (library->errc()) {
      case Errc::entry_not_found:
        code = kExitNotFound;
        break;
      case Errc::invalid_namespace:
      case Errc::invalid_key:
        code = kExitUsage;
        break;
      case Errc::precondition_failed:
        code = kExitPreconditionFailed;
        break;
      default:
        break;
    }
    return {std::string(errc_name(library->errc())), error.what(), code};
  }
  if (dynamic_cast<const ParseError*>(&error) != nullptr) {
    return {"usage", error.what(), kExitUsage};
  }
  return {"error", error.what(), kExitFailure};
}

int report(const Failure& failure, std::ostream& err, std::ostream* json_out,
           const std::optional<std::filesystem::path>& db) {
  err << "blobcache: " << failure.code << ": " << failure.message;
  // The library's messages about the file (open, check) name it already.
  if (db && failure.message.find(db->string()) == std::string::npos) {
    err << " (db: " << db->string() << ")";
  }
  err << '\n';
  if (json_out != nullptr) {
    nlohmann::json error = {
        {"code", failure.code}, {"message", failure.message}, {"exit_code", failure.exit_code}};
    if (db) error["db"] = db->string();
    print_json(*json_out, {{"error", std::move(error)}});
  }
  return failure.exit_code;
}

}  // namespace blobcache::tool
