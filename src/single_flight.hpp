// Internal: one computation per key among the threads of a process
// (Cache::get_or_fill), the way Go's singleflight does it.
#pragma once

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "blobcache/cache.hpp"

namespace blobcache::detail {

// Thread-safe; one for the process (flights()). A key is (store, namespace,
// key): Cache objects over one store share their flights. A forked child has
// flights of its own: those of its parent's threads never land in it.
class SingleFlight {
 public:
  // Runs `lead` on the calling thread when no other thread runs a flight
  // for the key, and returns what it returns (or rethrows what it throws);
  // otherwise waits, blocked, for the running flight and returns its
  // outcome with `filled` false (this call ran nothing). `lead` returns a
  // Lookup or throws.
  template <typename Lead>
  Lookup run(const Store* store, std::string_view ns, std::string_view key, Lead&& lead);

 private:
  struct Flight {
    std::mutex mutex;
    std::condition_variable done_signal;
    bool done = false;             // GUARDED_BY(mutex)
    std::optional<Lookup> result;  // GUARDED_BY(mutex)
    std::exception_ptr error;      // GUARDED_BY(mutex)
  };
  using Key = std::tuple<const Store*, std::string, std::string>;

  // The flight for `key` and whether this call leads it.
  std::pair<std::shared_ptr<Flight>, bool> join(const Key& key);
  // Publishes the outcome, wakes the waiters, and ends the flight.
  void land(const Key& key, Flight& flight, std::optional<Lookup> result,
            std::exception_ptr error) noexcept;
  static Lookup wait(Flight& flight);

  std::mutex mutex_;
  std::map<Key, std::shared_ptr<Flight>> flights_;  // GUARDED_BY(mutex_)
};

// This process's flights.
SingleFlight& flights();

template <typename Lead>
Lookup SingleFlight::run(const Store* store, std::string_view ns, std::string_view key,
                         Lead&& lead) {
  const Key id{store, std::string(ns), std::string(key)};
  auto [flight, leader] = join(id);
  if (!leader) return wait(*flight);
  std::optional<Lookup> result;
  std::exception_ptr error;
  try {
    result = lead();
  } catch (...) {
    error = std::current_exception();
  }
  land(id, *flight, result, error);
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace blobcache::detail
