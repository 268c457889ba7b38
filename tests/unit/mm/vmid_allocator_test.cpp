#include "mm/vmid_allocator.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace lamina::mm {
namespace {

// The allocator is 8 KiB: keep it off the test's stack like EL2 code must.
std::unique_ptr<VmidAllocator> make(unsigned bits) {
  auto a = std::make_unique<VmidAllocator>();
  EXPECT_TRUE(a->init(bits).ok());
  return a;
}

// Allocates until the allocator refuses; returns what it handed out.
std::vector<uint16_t> drain(VmidAllocator& a) {
  std::vector<uint16_t> got;
  for (;;) {
    auto r = a.alloc();
    if (!r.ok()) {
      EXPECT_EQ(r.error(), Error::kVmidsExhausted);
      break;
    }
    got.push_back(r.value().value());
    if (got.size() > 70000) break;  // a bug; don't loop forever
  }
  return got;
}

TEST(VmidAllocatorTest, UninitializedHandsOutNothing) {
  auto a = std::make_unique<VmidAllocator>();
  EXPECT_EQ(a->capacity(), 0u);
  EXPECT_EQ(a->alloc().error(), Error::kVmidsExhausted);
  EXPECT_EQ(a->free(Vmid(1)).error(), Error::kOutOfRange);
}

TEST(VmidAllocatorTest, OnlyEightAndSixteenBitWidthsAreAccepted) {
  auto a = std::make_unique<VmidAllocator>();
  for (unsigned bits : {0u, 1u, 4u, 7u, 9u, 12u, 15u, 17u, 32u}) {
    EXPECT_EQ(a->init(bits).error(), Error::kOutOfRange) << bits;
    EXPECT_EQ(a->capacity(), 0u) << "a refused init leaves the allocator as it was";
  }
  EXPECT_TRUE(a->init(8).ok());
  EXPECT_EQ(a->capacity(), 255u);
  EXPECT_TRUE(a->init(16).ok());
  EXPECT_EQ(a->capacity(), 65535u);
}

// With 8-bit VMIDs exactly 255 VMIDs exist for VMs: 1..255, each once.
TEST(VmidAllocatorTest, EightBitWidthHandsOutExactly255ThenFails) {
  auto a = make(8);
  const std::vector<uint16_t> got = drain(*a);
  ASSERT_EQ(got.size(), 255u);
  const std::set<uint16_t> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), 255u);
  EXPECT_EQ(*distinct.begin(), 1u);
  EXPECT_EQ(*distinct.rbegin(), 255u);
  EXPECT_EQ(a->in_use(), 255u);
  EXPECT_EQ(a->alloc().error(), Error::kVmidsExhausted);
  EXPECT_EQ(a->in_use(), 255u) << "a failed alloc changes nothing";
}

// With 16-bit VMIDs: 1..65535, each once, then kVmidsExhausted.
TEST(VmidAllocatorTest, SixteenBitWidthHandsOutExactly65535ThenFails) {
  auto a = make(16);
  const std::vector<uint16_t> got = drain(*a);
  ASSERT_EQ(got.size(), 65535u);
  const std::set<uint16_t> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), 65535u);
  EXPECT_EQ(distinct.count(0), 0u);
  EXPECT_EQ(a->in_use(), 65535u);
}

// VMID 0 means "no VM": never handed out, never freeable, never allocated.
TEST(VmidAllocatorTest, NeverReturnsZero) {
  for (unsigned bits : {8u, 16u}) {
    auto a = make(bits);
    EXPECT_FALSE(a->is_allocated(Vmid(0)));
    EXPECT_EQ(a->free(Vmid(0)).error(), Error::kOutOfRange);
    // Wrap the next-fit cursor several times with frees in between.
    for (int round = 0; round < 3; ++round) {
      for (uint16_t v : drain(*a)) {
        EXPECT_NE(v, 0u);
        ASSERT_TRUE(a->free(Vmid(v)).ok());
      }
    }
    EXPECT_EQ(a->in_use(), 0u);
  }
}

TEST(VmidAllocatorTest, FreedVmidIsReused) {
  auto a = make(8);
  drain(*a);
  ASSERT_TRUE(a->free(Vmid(42)).ok());
  EXPECT_EQ(a->in_use(), 254u);
  EXPECT_FALSE(a->is_allocated(Vmid(42)));
  auto r = a->alloc();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), Vmid(42));
  EXPECT_TRUE(a->is_allocated(Vmid(42)));
  EXPECT_EQ(a->alloc().error(), Error::kVmidsExhausted);
}

// Next-fit: a VMID just freed is not the next one handed out while others
// are free.
TEST(VmidAllocatorTest, NextFitDoesNotReuseImmediately) {
  auto a = make(8);
  const Vmid first = a->alloc().value();
  ASSERT_TRUE(a->free(first).ok());
  EXPECT_NE(a->alloc().value(), first);
}

TEST(VmidAllocatorTest, DoubleFreeAndNeverAllocatedAreRefusedAndChangeNothing) {
  auto a = make(8);
  const Vmid v = a->alloc().value();
  const Vmid w = a->alloc().value();
  ASSERT_TRUE(a->free(v).ok());
  EXPECT_EQ(a->free(v).error(), Error::kNotAllocated);
  EXPECT_EQ(a->free(Vmid(200)).error(), Error::kNotAllocated) << "never allocated";
  EXPECT_EQ(a->in_use(), 1u);
  EXPECT_TRUE(a->is_allocated(w));
  EXPECT_FALSE(a->is_allocated(v));
}

TEST(VmidAllocatorTest, VmidBeyondTheWidthIsOutOfRange) {
  auto a = make(8);
  drain(*a);
  EXPECT_EQ(a->free(Vmid(256)).error(), Error::kOutOfRange);
  EXPECT_EQ(a->free(Vmid(0xffff)).error(), Error::kOutOfRange);
  EXPECT_FALSE(a->is_allocated(Vmid(256)));
  EXPECT_EQ(a->in_use(), 255u);
}

TEST(VmidAllocatorTest, InitForgetsEverything) {
  auto a = make(8);
  drain(*a);
  ASSERT_TRUE(a->init(8).ok());
  EXPECT_EQ(a->in_use(), 0u);
  EXPECT_EQ(drain(*a).size(), 255u);
}

// Random alloc/free against a set model: the allocator agrees on what is
// allocated, never hands out an allocated VMID, and fails only when full.
TEST(VmidAllocatorTest, RandomizedAgainstAModel) {
  for (unsigned bits : {8u, 16u}) {
    auto a = make(bits);
    std::set<uint16_t> model;
    std::mt19937 rng(1234 + bits);
    const uint32_t capacity = (1u << bits) - 1;
    for (int step = 0; step < 200000; ++step) {
      const bool do_alloc = model.empty() || (rng() % 100) < 55;
      if (do_alloc) {
        auto r = a->alloc();
        if (model.size() == capacity) {
          ASSERT_FALSE(r.ok());
          continue;
        }
        ASSERT_TRUE(r.ok());
        const uint16_t v = r.value().value();
        ASSERT_NE(v, 0u);
        ASSERT_TRUE(model.insert(v).second) << "VMID " << v << " handed out twice";
      } else {
        const uint16_t v = static_cast<uint16_t>(rng() % (capacity + 1));
        const auto status = a->free(Vmid(v));
        if (v == 0) ASSERT_EQ(status.error(), Error::kOutOfRange);
        else if (model.erase(v) == 1) ASSERT_TRUE(status.ok());
        else ASSERT_EQ(status.error(), Error::kNotAllocated);
      }
      ASSERT_EQ(a->in_use(), model.size());
    }
  }
}

}  // namespace
}  // namespace lamina::mm
