// Tests for hyp/lib/spinlock: ownership, re-acquisition detection, and
// mutual exclusion between host threads.
#include "hyp/lib/spinlock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace lamina {
namespace {

TEST(SpinLock, LockAndUnlockTrackTheOwner) {
  SpinLock lock;
  EXPECT_EQ(lock.owner(), SpinLock::kUnowned);
  ASSERT_TRUE(lock.lock(3));
  EXPECT_EQ(lock.owner(), 3u);
  lock.unlock();
  EXPECT_EQ(lock.owner(), SpinLock::kUnowned);
  ASSERT_TRUE(lock.lock(0));
  EXPECT_EQ(lock.owner(), 0u);
  lock.unlock();
}

TEST(SpinLock, ReacquireBySameOwnerReturnsFalseWithoutWaiting) {
  SpinLock lock;
  ASSERT_TRUE(lock.lock(5));
  EXPECT_FALSE(lock.lock(5));
  EXPECT_EQ(lock.owner(), 5u) << "still held by its owner";
  lock.unlock();
  EXPECT_TRUE(lock.lock(5)) << "free again after unlock";
  lock.unlock();
}

TEST(SpinLock, OtherOwnerWaitsUntilUnlock) {
  SpinLock lock;
  ASSERT_TRUE(lock.lock(1));
  std::atomic<bool> acquired{false};
  std::thread other([&] {
    const bool ok = lock.lock(2);
    acquired.store(ok);
    lock.unlock();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(acquired.load()) << "lock(2) returned while 1 held the lock";
  EXPECT_EQ(lock.owner(), 1u);
  lock.unlock();
  other.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(lock.owner(), SpinLock::kUnowned);
}

TEST(SpinLock, MutualExclusionAcrossFourThreads) {
  // A plain (non-atomic) read-modify-write sequence inside the lock: any
  // overlap between two holders loses increments or trips `inside`.
  SpinLock lock;
  uint64_t counter = 0;
  int inside = 0;
  std::atomic<int> violations{0};
  constexpr int kThreads = 4;
  constexpr int kIterations = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        if (!lock.lock(static_cast<uint32_t>(t))) {
          violations.fetch_add(1);
          continue;
        }
        if (++inside != 1) violations.fetch_add(1);
        const uint64_t seen = counter;
        if (i % 64 == 0) std::this_thread::yield();  // widen the window
        counter = seen + 1;
        --inside;
        lock.unlock();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(counter, uint64_t{kThreads} * kIterations);
  EXPECT_EQ(lock.owner(), SpinLock::kUnowned);
}

}  // namespace
}  // namespace lamina
