#include "commands.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>
#include <unistd.h>
#include <vector>

#include "blobcache/error.hpp"
#include "blobcache/policy.hpp"

#include "format.hpp"
#include "json_output.hpp"
#include "parse.hpp"
#include "store_url.hpp"

namespace blobcache::tool {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Large enough that a 10 MiB value is a few dozen reads, small enough to
// keep get's memory flat whatever the value's size.
constexpr std::size_t kCopyBuffer = std::size_t{256} * 1024;
constexpr std::size_t kEtagPrefix = 12;

std::string quoted(std::string_view ns, std::string_view key) {
  return "\"" + std::string(ns) + "\"/\"" + std::string(key) + "\"";
}

[[noreturn]] void not_found(const std::string& what) { throw Error(Errc::entry_not_found, what); }

// The tool's own file operations (put's input, get's output) fail as io:
// exit code 3, whatever errno says.
[[noreturn]] void io_failure(const std::string& what, int error_number) {
  throw Error(Errc::io, what + ": " + std::strerror(error_number));
}

// The library's definition of expiry as clean applies it without --ttl
// (ttl 0), so that ls shows as expired exactly what clean erases.
const Policy& clean_policy() {
  static const Policy policy{};
  return policy;
}

// The entry count and bytes of `ns`, or nullopt when it holds nothing.
// Backends that cannot enumerate namespaces are asked for the list instead.
std::optional<NamespaceInfo> find_namespace(Store& store, const std::string& ns) {
  try {
    for (NamespaceInfo& info : store.namespaces()) {
      if (info.name == ns) return std::move(info);
    }
    return std::nullopt;
  } catch (const Error& error) {
    if (error.errc() != Errc::unsupported) throw;
  }
  NamespaceInfo info{.name = ns};
  for (const Object& object : store.list(ns)) {
    ++info.entries;
    info.bytes += object.meta.size;
  }
  if (info.entries == 0) return std::nullopt;
  return info;
}

// Time left before `meta` expires; nullopt when it has no expires_at (the
// tool applies no TTL of its own when listing).
std::optional<Duration> expires_in(const Meta& meta, TimePoint now) {
  if (!meta.expires_at) return std::nullopt;
  return clean_policy().expires_in_at(meta, now);
}

std::string expires_in_text(const Meta& meta, TimePoint now) {
  const auto left = expires_in(meta, now);
  if (!left) return "-";
  if (clean_policy().is_expired_at(meta, now)) return "expired";
  return format_duration(*left);
}

// ---- ls ------------------------------------------------------------------

int ls_namespaces(Context& context) {
  const std::vector<NamespaceInfo> namespaces = context.store.namespaces();
  if (context.json) {
    json list = json::array();
    for (const NamespaceInfo& info : namespaces) {
      list.push_back({{"name", info.name}, {"entries", info.entries}, {"bytes", info.bytes}});
    }
    print_json(context.out, {{"db", context.db.string()}, {"namespaces", std::move(list)}});
    return kExitOk;
  }
  Table table({"NAMESPACE", "ENTRIES", "SIZE"}, {"ENTRIES", "SIZE"});
  for (const NamespaceInfo& info : namespaces) {
    table.add_row({info.name, std::to_string(info.entries), format_size(info.bytes)});
  }
  table.print(context.out);
  return kExitOk;
}

int ls_entries(Context& context, const std::string& ns) {
  const std::vector<Object> objects = context.store.list(ns);
  // As for rm-ns: a namespace exists while it holds an entry.
  if (objects.empty()) not_found("ls \"" + ns + "\": no such namespace");
  if (context.json) {
    json entries = json::array();
    for (const Object& object : objects) {
      const auto left = expires_in(object.meta, context.now);
      entries.push_back({
          {"key", object.key},
          {"age_seconds", seconds_json(clean_policy().age_at(object.meta, context.now))},
          {"expires_in_seconds", left ? json(seconds_json(*left)) : json(nullptr)},
          {"expired", clean_policy().is_expired_at(object.meta, context.now)},
          {"meta", meta_json(object.meta)},
      });
    }
    print_json(context.out, {{"namespace", ns}, {"entries", std::move(entries)}});
    return kExitOk;
  }
  Table table({"KEY", "SIZE", "AGE", "EXPIRES-IN", "TYPE", "ETAG"}, {"SIZE", "AGE", "EXPIRES-IN"});
  for (const Object& object : objects) {
    table.add_row({object.key, format_size(object.meta.size),
                   format_duration(clean_policy().age_at(object.meta, context.now)),
                   expires_in_text(object.meta, context.now),
                   object.meta.content_type.empty() ? "-" : object.meta.content_type,
                   object.meta.etag.substr(0, kEtagPrefix)});
  }
  table.print(context.out);
  return kExitOk;
}

int run_command(Context& context, const LsCommand& command) {
  return command.ns ? ls_entries(context, *command.ns) : ls_namespaces(context);
}

// ---- get -----------------------------------------------------------------

// Copies the whole reader to `out`; throws Error(io) naming `target` when
// writing fails.
void copy_out(BlobReader& reader, std::ostream& out, const std::string& target) {
  std::vector<std::byte> buffer(kCopyBuffer);
  for (;;) {
    const std::size_t n = reader.read(buffer);
    if (n == 0) break;
    out.write(reinterpret_cast<const char*>(buffer.data()),  // NOLINT: byte to char view
              static_cast<std::streamsize>(n));
    if (!out) io_failure("get: writing " + target, errno);
  }
  out.flush();
  if (!out) io_failure("get: writing " + target, errno);
}

// Writes the value to `output` through a temporary file renamed into place,
// so that a failed read (a corrupt chunk) never leaves a truncated file
// under the requested name. Devices and pipes are written directly: they
// cannot be replaced.
void write_file(BlobReader& reader, const fs::path& output) {
  std::error_code ignored;
  if (fs::exists(output, ignored) && !fs::is_regular_file(output, ignored)) {
    std::ofstream file(output, std::ios::binary);
    if (!file) io_failure("get: cannot open " + output.string(), errno);
    copy_out(reader, file, output.string());
    return;
  }
  fs::path partial = output;
  partial += ".blobcache-" + std::to_string(::getpid()) + ".partial";
  try {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    if (!file) io_failure("get: cannot create " + partial.string(), errno);
    copy_out(reader, file, partial.string());
    file.close();
    fs::rename(partial, output);
  } catch (...) {
    fs::remove(partial, ignored);
    throw;
  }
}

int run_command(Context& context, const GetCommand& command) {
  const bool to_out = !command.output || *command.output == "-";
  if (context.json && to_out) {
    // Rejected by the command line already; kept for callers of run().
    throw ParseError("get --json needs -o FILE: stdout carries the value");
  }
  const std::unique_ptr<BlobReader> reader = context.store.open(command.ns, command.key);
  if (!reader) not_found("get " + quoted(command.ns, command.key) + ": no such entry");
  if (to_out) {
    copy_out(*reader, context.out, "stdout");
    return kExitOk;
  }
  const Meta meta = reader->meta();
  write_file(*reader, *command.output);
  if (context.json) {
    print_json(context.out, {{"namespace", command.ns},
                             {"key", command.key},
                             {"output", command.output->string()},
                             {"meta", meta_json(meta)}});
  }
  return kExitOk;
}

// ---- put -----------------------------------------------------------------

void print_meta(Context& context, const std::string& ns, const std::string& key, const Meta& meta) {
  Table table({"FIELD", "VALUE"});
  table.add_row({"namespace", ns});
  table.add_row({"key", key});
  table.add_row({"size", std::to_string(meta.size) + " (" + format_size(meta.size) + ")"});
  table.add_row({"updated_at", format_time(meta.updated_at)});
  table.add_row({"expires_at", meta.expires_at ? format_time(*meta.expires_at) + " (in " +
                                                     expires_in_text(meta, context.now) + ")"
                                               : "never"});
  table.add_row({"etag", meta.etag});
  table.add_row({"content_type", meta.content_type.empty() ? "-" : meta.content_type});
  for (const auto& [name, value] : meta.metadata) table.add_row({"meta." + name, value});
  table.print(context.out, false);
}

int run_command(Context& context, const PutCommand& command) {
  std::ifstream file;
  std::istream* in = &context.in;
  if (command.input != "-") {
    file.open(command.input, std::ios::binary);
    if (!file) {
      io_failure("put " + quoted(command.ns, command.key) + ": cannot open " + command.input,
                 errno);
    }
    in = &file;
  }
  PutOptions options = command.options;
  if (command.ttl && *command.ttl != Duration::zero()) {
    options.expires_at = expiry_after(context.now, *command.ttl);
  }
  const Meta meta = context.store.put_stream(command.ns, command.key, *in, options);
  if (context.json) {
    print_json(context.out,
               {{"namespace", command.ns}, {"key", command.key}, {"meta", meta_json(meta)}});
  } else {
    print_meta(context, command.ns, command.key, meta);
  }
  return kExitOk;
}

// ---- rm, rm-ns -----------------------------------------------------------

int run_command(Context& context, const RmCommand& command) {
  // Store::erase does not say whether anything was there; ask first so that
  // a mistyped key is reported (like rm(1); -f silences it).
  bool existed = context.store.open(command.ns, command.key) != nullptr;
  if (!existed && !command.force) {
    not_found("rm " + quoted(command.ns, command.key) + ": no such entry");
  }
  context.store.erase(command.ns, command.key);
  if (context.json) {
    print_json(context.out,
               {{"namespace", command.ns}, {"key", command.key}, {"removed", existed}});
  } else if (existed) {
    context.out << "removed " << printable(quoted(command.ns, command.key)) << '\n';
  }
  return kExitOk;
}

int run_command(Context& context, const RmNsCommand& command) {
  const std::optional<NamespaceInfo> info = find_namespace(context.store, command.ns);
  if (!info && !command.force) not_found("rm-ns \"" + command.ns + "\": no such namespace");
  context.store.erase_namespace(command.ns);
  const std::int64_t entries = info ? info->entries : 0;
  const std::int64_t bytes = info ? info->bytes : 0;
  if (context.json) {
    print_json(context.out, {{"namespace", command.ns}, {"entries", entries}, {"bytes", bytes}});
  } else if (info) {
    context.out << "removed namespace \"" << printable(command.ns) << "\": " << entries
                << (entries == 1 ? " entry, " : " entries, ") << format_size(bytes) << '\n';
  }
  return kExitOk;
}

// ---- clean ---------------------------------------------------------------

int run_command(Context& context, const CleanCommand& command) {
  std::vector<std::string> names;
  if (command.ns) {
    names.push_back(*command.ns);
  } else {
    for (NamespaceInfo& info : context.store.namespaces()) names.push_back(std::move(info.name));
  }
  std::size_t total = 0;
  json per_namespace = json::object();
  Table table({"NAMESPACE", "ERASED"}, {"ERASED"});
  for (const std::string& name : names) {
    const std::size_t erased = context.store.erase_expired(name, context.now, command.ttl);
    total += erased;
    per_namespace[name] = erased;
    if (erased != 0) table.add_row({name, std::to_string(erased)});
  }
  if (context.json) {
    print_json(context.out, {{"erased", total}, {"namespaces", std::move(per_namespace)}});
    return kExitOk;
  }
  if (!table.empty()) table.print(context.out);
  context.out << "erased " << total << (total == 1 ? " expired entry" : " expired entries") << '\n';
  return kExitOk;
}

// ---- limits as rows (info, stats, limit) ---------------------------------

std::string bound_text(std::int64_t bound, bool bytes) {
  if (bound == 0) return "none";
  if (!bytes) return std::to_string(bound);
  return format_size(bound) + " (" + std::to_string(bound) + " bytes)";
}

// max_bytes, max_entries and, when `with_eviction`, the policy.
void add_limit_rows(Table& table, const Limits& limits, bool with_eviction = true) {
  table.add_row({"max_bytes", bound_text(limits.max_bytes, true)});
  table.add_row({"max_entries", bound_text(limits.max_entries, false)});
  if (with_eviction) table.add_row({"eviction", std::string(eviction_name(limits.eviction))});
}

// ---- info ----------------------------------------------------------------

struct FileSize {
  std::string label;
  fs::path path;
  std::optional<std::uintmax_t> bytes;  // nullopt: the file does not exist
};

std::vector<FileSize> file_sizes(const fs::path& db) {
  std::vector<FileSize> files;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::path path = db;
    path += suffix;
    std::error_code error;
    const std::uintmax_t bytes = fs::file_size(path, error);
    files.push_back({suffix[0] == '\0' ? "db" : suffix + 1, path,
                     error ? std::nullopt : std::optional<std::uintmax_t>(bytes)});
  }
  return files;
}

int run_command(Context& context, const InfoCommand& /*command*/) {
  const Info info = context.store.describe();
  // A server named by a URL has no files to measure.
  const std::vector<FileSize> files =
      is_store_url(context.db.string()) ? std::vector<FileSize>{} : file_sizes(context.db);
  std::optional<std::vector<NamespaceInfo>> namespaces;
  try {
    namespaces = context.store.namespaces();
  } catch (const Error& error) {
    if (error.errc() != Errc::unsupported) throw;
  }
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  for (const NamespaceInfo& ns : namespaces.value_or(std::vector<NamespaceInfo>{})) {
    entries += ns.entries;
    bytes += ns.bytes;
  }

  if (context.json) {
    json file_list = json::object();
    for (const FileSize& file : files) {
      file_list[file.label] = {{"path", file.path.string()},
                               {"bytes", file.bytes ? json(*file.bytes) : json(nullptr)}};
    }
    json document = {
        {"backend", info.backend},
        {"root", info.root},
        {"supports_list", info.supports_list},
        {"supports_stream", info.supports_stream},
        {"supports_delete_namespace", info.supports_delete_namespace},
        {"files", std::move(file_list)},
        {"details", info.details},
    };
    if (namespaces) {
      document["namespaces"] = namespaces->size();
      document["entries"] = entries;
      document["bytes"] = bytes;
    }
    if (context.sqlite != nullptr) document["limits"] = limits_json(context.sqlite->limits());
    print_json(context.out, document);
    return kExitOk;
  }

  Table table({"FIELD", "VALUE"});
  table.add_row({"backend", info.backend.empty() ? "-" : info.backend});
  table.add_row({"root", info.root.empty() ? "-" : info.root});
  for (const FileSize& file : files) {
    table.add_row({file.label, file.path.string() + "  " +
                                   (file.bytes ? format_size(static_cast<std::int64_t>(*file.bytes))
                                               : std::string("(absent)"))});
  }
  if (namespaces) {
    table.add_row({"namespaces", std::to_string(namespaces->size())});
    table.add_row({"entries", std::to_string(entries)});
    table.add_row({"bytes", std::to_string(bytes) + " (" + format_size(bytes) + ")"});
  }
  for (const auto& [name, value] : info.details) table.add_row({name, value});
  std::string supports;
  for (const auto& [flag, name] :
       {std::pair{info.supports_list, "list"}, std::pair{info.supports_stream, "stream"},
        std::pair{info.supports_delete_namespace, "delete_namespace"}}) {
    if (flag) supports += (supports.empty() ? "" : ", ") + std::string(name);
  }
  table.add_row({"supports", supports.empty() ? "-" : supports});
  if (context.sqlite != nullptr) add_limit_rows(table, context.sqlite->limits());
  table.print(context.out, false);
  return kExitOk;
}

// ---- stats ---------------------------------------------------------------

std::optional<double> hit_rate(std::uint64_t hits, std::uint64_t misses) {
  if (hits + misses == 0) return std::nullopt;
  return static_cast<double>(hits) / static_cast<double>(hits + misses);
}

json counters_json(std::int64_t entries, std::int64_t bytes, std::uint64_t hits,
                   std::uint64_t misses, std::uint64_t evictions, std::uint64_t expirations) {
  const auto rate = hit_rate(hits, misses);
  return {{"entries", entries},
          {"bytes", bytes},
          {"hits", hits},
          {"misses", misses},
          {"hit_rate", rate ? json(*rate) : json(nullptr)},
          {"evictions", evictions},
          {"expirations", expirations}};
}

// "3.4 MiB / 500.0 MiB (0.7 %)" against a bound, else "3.4 MiB".
std::string against_bound(std::int64_t value, std::int64_t bound,
                          std::string (*format)(std::int64_t)) {
  if (bound == 0) return format(value);
  return format(value) + " / " + format(bound) + " (" +
         format_percent(static_cast<double>(value), static_cast<double>(bound)) + ")";
}

std::string format_count(std::int64_t count) { return std::to_string(count); }

int run_command(Context& context, const StatsCommand& command) {
  if (command.zero) context.store.reset_stats();
  const Stats stats = context.store.stats();
  // Stats carries the bounds; the policy only a SqliteStore knows.
  std::optional<Limits> limits;
  if (context.sqlite != nullptr) {
    limits = Limits{.max_bytes = stats.max_bytes,
                    .max_entries = stats.max_entries,
                    .eviction = context.sqlite->limits().eviction};
  }

  if (context.json) {
    json document = counters_json(stats.entries, stats.bytes, stats.hits, stats.misses,
                                  stats.evictions, stats.expirations);
    document["db"] = context.db.string();
    document["backend"] = context.store.describe().backend;
    document["file_bytes"] = stats.file_bytes;
    document["far_failures"] = stats.far_failures;
    if (limits) {
      document["limits"] = limits_json(*limits);
    } else {
      document["limits"] = {{"max_bytes", stats.max_bytes},
                            {"max_entries", stats.max_entries},
                            {"eviction", nullptr}};
    }
    json namespaces = json::array();
    for (const NamespaceStats& ns : stats.namespaces) {
      json entry =
          counters_json(ns.entries, ns.bytes, ns.hits, ns.misses, ns.evictions, ns.expirations);
      entry["name"] = ns.ns;
      namespaces.push_back(std::move(entry));
    }
    document["namespaces"] = std::move(namespaces);
    print_json(context.out, document);
    return kExitOk;
  }

  Table table({"FIELD", "VALUE"});
  table.add_row({"db", context.db.string()});
  table.add_row({"hits", std::to_string(stats.hits)});
  table.add_row({"misses", std::to_string(stats.misses)});
  table.add_row({"hit rate", format_percent(static_cast<double>(stats.hits),
                                            static_cast<double>(stats.hits + stats.misses))});
  table.add_row({"evictions", std::to_string(stats.evictions)});
  table.add_row({"expirations", std::to_string(stats.expirations)});
  table.add_row({"entries", against_bound(stats.entries, stats.max_entries, format_count)});
  table.add_row({"bytes", against_bound(stats.bytes, stats.max_bytes, format_size)});
  table.add_row({"file size", stats.file_bytes == 0 ? "-" : format_size(stats.file_bytes)});
  if (limits) {
    add_limit_rows(table, *limits);
  } else {
    add_limit_rows(table, Limits{.max_bytes = stats.max_bytes, .max_entries = stats.max_entries},
                   false);
  }
  if (stats.far_failures != 0) table.add_row({"far failures", std::to_string(stats.far_failures)});
  table.print(context.out, false);
  if (stats.namespaces.empty()) return kExitOk;

  Table spaces(
      {"NAMESPACE", "ENTRIES", "BYTES", "HITS", "MISSES", "HIT RATE", "EVICTIONS", "EXPIRATIONS"},
      {"ENTRIES", "BYTES", "HITS", "MISSES", "HIT RATE", "EVICTIONS", "EXPIRATIONS"});
  for (const NamespaceStats& ns : stats.namespaces) {
    spaces.add_row(
        {ns.ns, std::to_string(ns.entries), format_size(ns.bytes), std::to_string(ns.hits),
         std::to_string(ns.misses),
         format_percent(static_cast<double>(ns.hits), static_cast<double>(ns.hits + ns.misses)),
         std::to_string(ns.evictions), std::to_string(ns.expirations)});
  }
  context.out << '\n';
  spaces.print(context.out);
  return kExitOk;
}

// ---- limit, trim, compact ------------------------------------------------

// The SqliteStore behind `context`, or Error(unsupported) for other backends.
SqliteStore& sqlite_store(const Context& context, const std::string& command) {
  if (context.sqlite == nullptr) {
    throw Error(Errc::unsupported, command + ": the " + context.store.describe().backend +
                                       " backend has no limits or file of its own; limit, trim "
                                       "and compact work on a SQLite cache file");
  }
  return *context.sqlite;
}

int run_command(Context& context, const LimitCommand& command) {
  SqliteStore& store = sqlite_store(context, "limit");
  if (command.changes()) {
    const Limits current = store.limits();
    Limits limits = command.none ? Limits{.eviction = current.eviction} : current;
    if (command.max_bytes) limits.max_bytes = *command.max_bytes;
    if (command.max_entries) limits.max_entries = *command.max_entries;
    if (command.eviction) limits.eviction = *command.eviction;
    try {
      store.set_limits(limits);
    } catch (const Error& error) {
      if (error.errc() != Errc::invalid_argument) throw;
      // Bad values are the caller's: a usage error, like on the command line.
      return report({.code = std::string(errc_name(error.errc())),
                     .message = error.what(),
                     .exit_code = kExitUsage},
                    context.err, context.json ? &context.out : nullptr, context.db);
    }
  }
  const Limits limits = store.limits();
  if (context.json) {
    print_json(context.out, {{"db", context.db.string()}, {"limits", limits_json(limits)}});
    return kExitOk;
  }
  Table table({"FIELD", "VALUE"});
  add_limit_rows(table, limits);
  table.print(context.out, false);
  return kExitOk;
}

std::string entries_text(std::int64_t entries) {
  return std::to_string(entries) + (entries == 1 ? " entry" : " entries");
}

int run_command(Context& context, const TrimCommand& /*command*/) {
  SqliteStore& store = sqlite_store(context, "trim");
  const SqliteStore::TrimReport evicted = store.trim();
  const Limits limits = store.limits();
  const bool bounded = limits.max_bytes != 0 || limits.max_entries != 0;
  if (context.json) {
    print_json(context.out, {{"db", context.db.string()},
                             {"evicted", {{"entries", evicted.entries}, {"bytes", evicted.bytes}}},
                             {"limits", limits_json(limits)}});
    return kExitOk;
  }
  context.out << "evicted " << entries_text(evicted.entries) << ", " << format_size(evicted.bytes)
              << (bounded ? "" : " (the cache has no limits: set them with blobcache limit)")
              << '\n';
  return kExitOk;
}

int run_command(Context& context, const CompactCommand& /*command*/) {
  const SqliteStore::CompactReport sizes = sqlite_store(context, "compact").compact();
  if (context.json) {
    print_json(context.out, {{"db", context.db.string()},
                             {"bytes_before", sizes.bytes_before},
                             {"bytes_after", sizes.bytes_after}});
    return kExitOk;
  }
  context.out << "compacted " << context.db.string() << ": " << format_size(sizes.bytes_before)
              << " -> " << format_size(sizes.bytes_after);
  if (sizes.bytes_after < sizes.bytes_before) {
    context.out << " (" << format_size(sizes.bytes_before - sizes.bytes_after) << " freed)";
  }
  context.out << '\n';
  return kExitOk;
}

// ---- check ---------------------------------------------------------------

// A one-line bar redrawn in place with '\r'; at most ten redraws a second,
// since verify reports after every entry and a terminal is slow.
class ProgressBar {
 public:
  explicit ProgressBar(std::ostream& out) : out_(out) {}

  void update(const VerifyProgress& progress) {
    const auto now = std::chrono::steady_clock::now();
    const bool last = progress.entries_done == progress.entries_total;
    if (!last && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    drawn_ = true;
    constexpr int kWidth = 30;
    const double fraction =
        progress.bytes_total > 0
            ? static_cast<double>(progress.bytes_done) / static_cast<double>(progress.bytes_total)
            : (progress.entries_total > 0 ? static_cast<double>(progress.entries_done) /
                                                static_cast<double>(progress.entries_total)
                                          : 1.0);
    const int filled = static_cast<int>(fraction * kWidth);
    out_ << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
         << std::string(static_cast<std::size_t>(kWidth - filled), ' ') << "] "
         << static_cast<int>(fraction * 100) << "%  " << progress.entries_done << '/'
         << progress.entries_total << " entries  " << format_size(progress.bytes_done) << " / "
         << format_size(progress.bytes_total) << "\x1b[K" << std::flush;
  }

  // Erases the bar so the report starts on a clean line.
  ~ProgressBar() {
    if (drawn_) out_ << "\r\x1b[K" << std::flush;
  }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ProgressBar(ProgressBar&&) = delete;
  ProgressBar& operator=(ProgressBar&&) = delete;

 private:
  std::ostream& out_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

int run_command(Context& context, const CheckCommand& command) {
  context.store.check();
  if (!command.deep) {
    if (context.json) {
      print_json(context.out, {{"ok", true}, {"deep", false}, {"db", context.db.string()}});
    } else {
      context.out << "ok: " << context.db.string() << '\n';
    }
    return kExitOk;
  }

  VerifyReport report;
  {
    std::optional<ProgressBar> bar;
    if (context.progress) bar.emplace(context.err);
    report = context.store.verify([&](const VerifyProgress& progress) {
      if (bar) bar->update(progress);
    });
  }
  if (context.json) {
    json failures = json::array();
    for (const VerifyFailure& failure : report.failures) {
      failures.push_back(
          {{"namespace", failure.ns}, {"key", failure.key}, {"reason", failure.reason}});
    }
    print_json(context.out, {{"ok", report.ok()},
                             {"deep", true},
                             {"db", context.db.string()},
                             {"entries_checked", report.entries_checked},
                             {"bytes_checked", report.bytes_checked},
                             {"failures", std::move(failures)}});
  } else {
    if (!report.ok()) {
      Table table({"NAMESPACE", "KEY", "PROBLEM"});
      for (const VerifyFailure& failure : report.failures) {
        table.add_row({failure.ns, failure.key, failure.reason});
      }
      table.print(context.out);
    }
    context.out << (report.ok() ? "ok: " : "FAILED: ") << report.entries_checked
                << (report.entries_checked == 1 ? " entry (" : " entries (")
                << format_size(report.bytes_checked) << ") verified, " << report.failures.size()
                << (report.failures.size() == 1 ? " failure" : " failures") << '\n';
  }
  if (report.ok()) return kExitOk;
  // The report above is the JSON document; the failure goes to err only.
  return tool::report(
      {.code = std::string(errc_name(Errc::corrupt)),
       .message = "check --deep: " + std::to_string(report.failures.size()) + " of " +
                  std::to_string(report.entries_checked) + " entries failed verification",
       .exit_code = kExitFailure},
      context.err, nullptr, context.db);
}

}  // namespace

bool is_read_only(const Command& command) noexcept {
  if (const auto* stats = std::get_if<StatsCommand>(&command)) return !stats->zero;
  if (const auto* limit = std::get_if<LimitCommand>(&command)) return !limit->changes();
  return std::holds_alternative<LsCommand>(command) ||
         std::holds_alternative<GetCommand>(command) ||
         std::holds_alternative<InfoCommand>(command) ||
         std::holds_alternative<CheckCommand>(command);
}

bool creates_file(const Command& command) noexcept {
  if (const auto* limit = std::get_if<LimitCommand>(&command)) return limit->changes();
  return std::holds_alternative<PutCommand>(command);
}

int run(Context& context, const Command& command) {
  try {
    return std::visit([&](const auto& alternative) { return run_command(context, alternative); },
                      command);
  } catch (const std::exception& error) {
    context.out.flush();
    return report(failure_of(error), context.err, context.json ? &context.out : nullptr,
                  context.db);
  }
}

}  // namespace blobcache::tool
