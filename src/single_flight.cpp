#include "single_flight.hpp"

#include "per_process.hpp"

namespace blobcache::detail {

std::pair<std::shared_ptr<SingleFlight::Flight>, bool> SingleFlight::join(const Key& key) {
  const std::lock_guard lock(mutex_);
  auto [it, created] = flights_.try_emplace(key);
  if (created) it->second = std::make_shared<Flight>();
  return {it->second, created};
}

void SingleFlight::land(const Key& key, Flight& flight, std::optional<Lookup> result,
                        std::exception_ptr error) noexcept {
  {
    // Callers arriving from now on start a flight of their own.
    const std::lock_guard lock(mutex_);
    flights_.erase(key);
  }
  {
    const std::lock_guard lock(flight.mutex);
    flight.result = std::move(result);
    flight.error = std::move(error);
    flight.done = true;
  }
  flight.done_signal.notify_all();
}

Lookup SingleFlight::wait(Flight& flight) {
  std::unique_lock lock(flight.mutex);
  flight.done_signal.wait(lock, [&] { return flight.done; });
  if (flight.error) std::rethrow_exception(flight.error);
  Lookup shared = *flight.result;
  shared.filled = false;
  return shared;
}

SingleFlight& flights() {
  static PerProcess<SingleFlight> registry;
  return registry.get();
}

}  // namespace blobcache::detail
