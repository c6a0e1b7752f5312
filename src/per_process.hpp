// Internal: state that belongs to one process, which a forked child must
// not inherit.
#pragma once

#include <atomic>
#include <sys/types.h>

namespace blobcache::detail {

// getpid() without a system call: cached, refreshed in every forked child.
pid_t current_pid() noexcept;

// One T per process. A forked child inherits the parent's T as fork found
// it: a mutex that a parent thread held stays locked in the child, a
// condition variable counts waiters that do not exist there, a queue holds
// the parent's requests. The child's first get() therefore makes a T of its
// own; the inherited one is never touched again, nor destroyed (destroying
// a condition variable with phantom waiters can block), but kept reachable
// from a global list, so leak checkers stay quiet. Thread-safe.
template <typename T>
class PerProcess {
 public:
  PerProcess() : current_(new Node{.pid = current_pid(), .value = {}, .next_forsaken = nullptr}) {}
  ~PerProcess() { release(current_.load(std::memory_order_acquire)); }
  PerProcess(const PerProcess&) = delete;
  PerProcess& operator=(const PerProcess&) = delete;

  // This process's T. Cost: two atomic loads.
  T& get() {
    const pid_t pid = current_pid();
    Node* node = current_.load(std::memory_order_acquire);
    while (node->pid != pid) {
      auto* fresh = new Node{.pid = pid, .value = {}, .next_forsaken = nullptr};
      if (current_.compare_exchange_strong(node, fresh, std::memory_order_acq_rel)) {
        forsake(node);
        node = fresh;
      } else {
        delete fresh;  // another thread of the child made one first: `node` is it
      }
    }
    return node->value;
  }

 private:
  struct Node {
    pid_t pid;
    T value;
    Node* next_forsaken;
  };

  void release(Node* node) noexcept {
    if (node->pid == current_pid()) {
      delete node;
    } else {
      forsake(node);
    }
  }

  static void forsake(Node* node) noexcept {
    node->next_forsaken = forsaken_.load(std::memory_order_relaxed);
    while (!forsaken_.compare_exchange_weak(node->next_forsaken, node, std::memory_order_release,
                                            std::memory_order_relaxed)) {
    }
  }

  std::atomic<Node*> current_;
  static inline std::atomic<Node*> forsaken_{nullptr};
};

}  // namespace blobcache::detail
