// A spinlock that records its owner, so that a CPU re-acquiring a lock it
// already holds is caught (it would otherwise hang forever) and so the crash
// path can tell whether the console lock is held by the crashing CPU itself.
//
// Memory order: acquire on lock, release on unlock, which is all a critical
// section needs. On AArch64 waiters sleep in WFE and unlock sends SEV; the
// event register latches an SEV that arrives between a failed attempt and
// the WFE, so no wakeup is lost.
#pragma once

#include <atomic>
#include <cstdint>

namespace lamina {

class SpinLock {
 public:
  static constexpr uint32_t kUnowned = ~uint32_t{0};

  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  // Takes the lock for CPU `owner`. Returns false without waiting if `owner`
  // already holds it (the caller decides whether that is fatal).
  [[nodiscard]] bool lock(uint32_t owner) {
    for (;;) {
      uint32_t expected = kUnowned;
      if (owner_.compare_exchange_weak(expected, owner, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return true;
      if (expected == owner) return false;
      wait();
    }
  }

  void unlock() {
    owner_.store(kUnowned, std::memory_order_release);
    wake();
  }

  [[nodiscard]] uint32_t owner() const { return owner_.load(std::memory_order_relaxed); }

 private:
  static void wait() {
#if defined(__aarch64__)
    asm volatile("wfe" ::: "memory");
#endif
  }
  static void wake() {
#if defined(__aarch64__)
    asm volatile("dsb ishst\n\tsev" ::: "memory");
#endif
  }

  std::atomic<uint32_t> owner_{kUnowned};
};

// Holds a SpinLock for one scope. If `owner` already holds it (a CPU that
// re-enters, e.g. while reporting a crash), held() is false and nothing is
// unlocked at the end: the caller decides whether that is an error.
class SpinLockGuard {
 public:
  SpinLockGuard(SpinLock& lock, uint32_t owner) : lock_(lock), held_(lock.lock(owner)) {}
  ~SpinLockGuard() {
    if (held_) lock_.unlock();
  }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

  [[nodiscard]] bool held() const { return held_; }

 private:
  SpinLock& lock_;
  bool held_;
};

}  // namespace lamina
