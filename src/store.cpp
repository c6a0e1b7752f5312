#include "blobcache/store.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "blobcache/error.hpp"
#include "blobcache/policy.hpp"

#include "errors.hpp"
#include "names_detail.hpp"
#include "read_counting.hpp"
#include "sha256.hpp"

namespace blobcache {

thread_local int detail::UncountedReads::depth_ = 0;
namespace {

bool is_lowercase_sha256_hex(std::string_view text) noexcept {
  if (text.size() != 64) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The checks every backend relies on before it sees a put's options.
void validate_put_options(const Store& store, std::string_view operation, std::string_view ns,
                          std::string_view key, const PutOptions& opts) {
  if (!opts.if_match) return;
  const auto where = [&] {
    return std::string(operation) + " \"" + std::string(ns) + "\"/\"" + std::string(key) + "\"";
  };
  if (!opts.if_match->empty() && !is_lowercase_sha256_hex(*opts.if_match)) {
    detail::throw_error(Errc::invalid_argument,
                        where() +
                            ": if_match must be \"\" (no entry) or an etag (64 lowercase "
                            "hex digits)");
  }
  if (!store.describe().supports_conditional_put) {
    detail::throw_error(Errc::unsupported, where() + ": backend \"" + store.describe().backend +
                                               "\" cannot check if_match atomically");
  }
}

}  // namespace

std::optional<Blob> Store::get(std::string_view ns, std::string_view key) {
  detail::validate_names("get", ns, key);
  return do_get(ns, key);
}

bool Store::get_into(std::string_view ns, std::string_view key, Blob& out) {
  detail::validate_names("get", ns, key);
  return do_get_into(ns, key, out);
}

Meta Store::put(std::string_view ns, std::string_view key, BytesView value,
                const PutOptions& opts) {
  detail::validate_names("put", ns, key);
  validate_put_options(*this, "put", ns, key, opts);
  return do_put(ns, key, value, opts);
}

Meta Store::put(std::string_view ns, std::string_view key, std::string_view text,
                const PutOptions& opts) {
  return put(ns, key, as_bytes(text), opts);
}

std::vector<Meta> Store::put_many(std::span<const PutRequest> batch) {
  for (const PutRequest& request : batch) {
    detail::validate_names("put_many (nothing stored), at", request.ns, request.key);
    validate_put_options(*this, "put_many (nothing stored), at", request.ns, request.key,
                         request.options);
  }
  if (batch.empty()) return {};
  return do_put_many(batch);
}

std::unique_ptr<BlobReader> Store::open(std::string_view ns, std::string_view key) {
  detail::validate_names("open", ns, key);
  return do_open(ns, key);
}

Meta Store::put_stream(std::string_view ns, std::string_view key, std::istream& in,
                       const PutOptions& opts, std::stop_token stop) {
  detail::validate_names("put_stream", ns, key);
  validate_put_options(*this, "put_stream", ns, key, opts);
  return do_put_stream(ns, key, in, opts, std::move(stop));
}

void Store::erase(std::string_view ns, std::string_view key) {
  detail::validate_names("erase", ns, key);
  do_erase(ns, key);
}

void Store::erase_namespace(std::string_view ns) {
  detail::validate_names("erase_namespace", ns);
  do_erase_namespace(ns);
}

std::vector<Object> Store::list(std::string_view ns) {
  detail::validate_names("list", ns);
  return do_list(ns);
}

std::size_t Store::erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  detail::validate_names("erase_expired", ns);
  return do_erase_expired(ns, now, ttl);
}

std::vector<NamespaceInfo> Store::namespaces() { return do_namespaces(); }

VerifyReport Store::verify(const std::function<void(const VerifyProgress&)>& progress,
                           std::stop_token stop) {
  const detail::UncountedReads not_lookups;
  return do_verify(progress, std::move(stop));
}

Stats Store::stats() { return do_stats(); }

void Store::reset_stats() { do_reset_stats(); }

bool Store::try_acquire_lease(std::string_view ns, std::string_view key, std::string_view owner,
                              Duration ttl) {
  detail::validate_names("try_acquire_lease", ns, key);
  if (owner.empty() || ttl <= Duration::zero()) {
    detail::throw_error(Errc::invalid_argument,
                        "try_acquire_lease \"" + std::string(ns) + "\"/\"" + std::string(key) +
                            "\": the owner must not be empty and the ttl must be positive");
  }
  return do_try_acquire_lease(ns, key, owner, ttl);
}

void Store::release_lease(std::string_view ns, std::string_view key, std::string_view owner) {
  detail::validate_names("release_lease", ns, key);
  if (owner.empty()) {
    detail::throw_error(Errc::invalid_argument, "release_lease \"" + std::string(ns) + "\"/\"" +
                                                    std::string(key) +
                                                    "\": the owner must not be empty");
  }
  do_release_lease(ns, key, owner);
}

Info Store::describe() const { return do_describe(); }

void Store::check() { do_check(); }

std::size_t Store::do_erase_expired(std::string_view ns, TimePoint now, Duration ttl) {
  const Policy policy{.ttl = ttl};
  std::size_t erased = 0;
  for (const Object& object : do_list(ns)) {
    if (policy.is_expired_at(object.meta, now)) {
      do_erase(ns, object.key);
      ++erased;
    }
  }
  return erased;
}

bool Store::do_get_into(std::string_view ns, std::string_view key, Blob& out) {
  std::optional<Blob> blob = do_get(ns, key);
  if (!blob) return false;
  out = std::move(*blob);
  return true;
}

Info Store::do_describe() const { return {}; }

Stats Store::do_stats() {
  Stats stats;
  for (NamespaceInfo& space : do_namespaces()) {
    stats.entries += space.entries;
    stats.bytes += space.bytes;
    stats.namespaces.push_back(
        {.ns = std::move(space.name), .entries = space.entries, .bytes = space.bytes});
  }
  return stats;
}

void Store::do_reset_stats() {}

bool Store::do_try_acquire_lease(std::string_view /*ns*/, std::string_view /*key*/,
                                 std::string_view /*owner*/, Duration /*ttl*/) {
  return true;
}

void Store::do_release_lease(std::string_view /*ns*/, std::string_view /*key*/,
                             std::string_view /*owner*/) {}

void Store::do_check() {}

std::vector<Meta> Store::do_put_many(std::span<const PutRequest> batch) {
  std::vector<Meta> metas;
  metas.reserve(batch.size());
  for (const PutRequest& request : batch) {
    metas.push_back(do_put(request.ns, request.key, request.value, request.options));
  }
  return metas;
}

std::vector<NamespaceInfo> Store::do_namespaces() {
  detail::throw_error(Errc::unsupported, "namespaces: backend \"" + do_describe().backend +
                                             "\" cannot enumerate namespaces");
}

namespace {

// Reads the entry whole and says what is wrong with it, or "" when nothing.
std::string verify_entry(BlobReader& reader, std::int64_t& bytes_read,
                         const std::stop_token& stop) {
  detail::Sha256 hash;
  std::array<std::byte, 64 * 1024> buffer{};
  std::int64_t size = 0;
  while (const std::size_t n = reader.read(buffer)) {
    if (stop.stop_requested()) detail::throw_error(Errc::cancelled, "verify: cancelled");
    hash.update(BytesView(buffer.data(), n));
    size += static_cast<std::int64_t>(n);
  }
  bytes_read += size;
  if (size != reader.meta().size) {
    return "size mismatch: read " + std::to_string(size) + " bytes, metadata says " +
           std::to_string(reader.meta().size);
  }
  if (hash.finish_hex() != reader.meta().etag)
    return "etag mismatch: bytes do not hash to the etag";
  return {};
}

}  // namespace

VerifyReport Store::do_verify(const std::function<void(const VerifyProgress&)>& progress,
                              std::stop_token stop) {
  const std::vector<NamespaceInfo> spaces = do_namespaces();
  VerifyProgress done;
  for (const NamespaceInfo& space : spaces) {
    done.entries_total += space.entries;
    done.bytes_total += space.bytes;
  }
  VerifyReport report;
  for (const NamespaceInfo& space : spaces) {
    for (const Object& object : do_list(space.name)) {
      if (stop.stop_requested()) detail::throw_error(Errc::cancelled, "verify: cancelled");
      std::string failure;
      std::int64_t bytes = 0;
      try {
        auto reader = do_open(space.name, object.key);
        if (!reader) continue;  // erased since it was listed
        failure = verify_entry(*reader, bytes, stop);
      } catch (const Error& e) {
        if (e.code() == Errc::cancelled) throw;
        failure = e.what();
      }
      ++report.entries_checked;
      report.bytes_checked += bytes;
      if (!failure.empty()) report.failures.push_back({space.name, object.key, std::move(failure)});
      ++done.entries_done;
      done.bytes_done += object.meta.size;
      if (progress) progress(done);
    }
  }
  return report;
}

Info describe(const Store* store, std::string_view fallback_backend) {
  Info info = store ? store->describe() : Info{};
  if (info.backend.empty()) info.backend = fallback_backend;
  return info;
}

void check(Store* store) {
  if (store) store->check();
}

}  // namespace blobcache
