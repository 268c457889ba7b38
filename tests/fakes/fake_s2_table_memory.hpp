// A host double for mm::S2TableMemory: a fixed arena of 4K pages with fake
// physical addresses (kBasePa + index * 4096), so table code that
// dereferences a PA instead of going through table() reads unrelated host
// memory and fails loudly under ASan rather than "working".
//
// - alloc(pages) returns `pages` zeroed, contiguous pages whose fake PA is
//   aligned to their total size (the concatenated root), or kNoMemory once
//   the arena or the page limit (set_page_limit) is exhausted.
// - free() detects double frees, frees of pages never allocated and frees
//   with the wrong page count (bad_frees()); a freed page is poisoned with
//   all-ones (a *valid* table descriptor at every level), so a walk through a
//   stale pointer goes visibly astray, and single pages are reused first in,
//   first out, so a freed page stays poisoned as long as possible.
// - table() of a PA that is not allocated counts a bad translation and
//   returns a zeroed scratch page.
// - An observer (set_free_observer) sees every free before it happens: the
//   recording arch ops use it to check that a table is freed only after the
//   invalidation that unlinked it completed.
// Thread-safe (one mutex); the observer is called outside it.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"
#include "mm/error.hpp"
#include "mm/stage2.hpp"

namespace lamina::test {

class FakeS2TableMemory {
 public:
  // 512 GiB: aligned far beyond the 64K a 16-page root needs, below 2^48.
  static constexpr uint64_t kBasePa = 0x80'0000'0000;
  using FreeObserver = std::function<void(mm::PhysAddr pa, const uint64_t* host, unsigned pages)>;

  explicit FakeS2TableMemory(size_t max_pages)
      : pages_(new Page[max_pages]), state_(max_pages, kFree), max_pages_(max_pages), limit_(max_pages) {
    for (size_t i = 0; i < max_pages; ++i) free_singles_.push_back(i);
  }
  FakeS2TableMemory(const FakeS2TableMemory&) = delete;
  FakeS2TableMemory& operator=(const FakeS2TableMemory&) = delete;

  [[nodiscard]] mm::S2TableMemory memory() { return mm::S2TableMemory{this, &alloc_thunk, &free_thunk, &table_thunk}; }

  // Live pages may not exceed `pages` (kNoMemory beyond).
  void set_page_limit(size_t pages) {
    std::lock_guard lock(mutex_);
    limit_ = pages;
  }
  void set_free_observer(FreeObserver observer) {
    std::lock_guard lock(mutex_);
    observer_ = std::move(observer);
  }

  [[nodiscard]] size_t live_pages() const {
    std::lock_guard lock(mutex_);
    return live_;
  }
  [[nodiscard]] size_t allocations() const {
    std::lock_guard lock(mutex_);
    return allocations_;
  }
  [[nodiscard]] unsigned bad_translations() const {
    std::lock_guard lock(mutex_);
    return bad_translations_;
  }
  [[nodiscard]] unsigned bad_frees() const {
    std::lock_guard lock(mutex_);
    return bad_frees_;
  }
  [[nodiscard]] bool is_live(mm::PhysAddr pa) const {
    std::lock_guard lock(mutex_);
    const size_t i = index_of(pa);
    return i < max_pages_ && state_[i] != kFree;
  }

  // The host address of the page at `pa`, by arithmetic only (no liveness
  // check, no lock: safe to call from inside other locks); nullptr outside
  // the arena.
  [[nodiscard]] uint64_t* host(mm::PhysAddr pa) const {
    const size_t i = index_of(pa);
    return i < max_pages_ ? pages_[i].entries : nullptr;
  }
  // The raw entries of a live table page (nullptr if not live).
  [[nodiscard]] const uint64_t* entries(mm::PhysAddr pa) const { return is_live(pa) ? host(pa) : nullptr; }

  // What an address space's tables hold, found by walking them here,
  // independently of mm/stage2_walker.hpp: every leaf in IPA order, the
  // number of table pages reached (root pages included), and problems: a
  // non-root table with no valid entry (should have been freed), a table
  // descriptor pointing at a page that is not live.
  struct Leaf {
    uint64_t ipa;
    unsigned level;
    uint64_t raw;
  };
  struct Census {
    std::vector<Leaf> leaves;
    size_t table_pages = 0;
    size_t empty_tables = 0;
    size_t dangling_tables = 0;
    [[nodiscard]] size_t leaves_at(unsigned level) const {
      size_t n = 0;
      for (const Leaf& leaf : leaves) n += leaf.level == level ? 1 : 0;
      return n;
    }
  };
  [[nodiscard]] Census census(const mm::Stage2& s2) const {
    Census c;
    const mm::Stage2Geometry& g = s2.config().geometry;
    const unsigned root_shift = 12 + 9 * (3 - g.start_level);
    const uint64_t root_entries = uint64_t{1} << (g.ipa_bits - root_shift);
    c.table_pages = g.concatenated_tables;
    for (uint64_t i = 0; i < root_entries; ++i) {
      const uint64_t* page = entries(s2.root().offset((i / 512) * mm::kPageSize));
      if (page == nullptr) {
        ++c.dangling_tables;
        return c;
      }
      visit(c, page[i % 512], i << root_shift, g.start_level);
    }
    return c;
  }

 private:
  void visit(Census& c, uint64_t raw, uint64_t ipa, unsigned level) const {
    const mm::S2DescKind kind = mm::classify(raw, level);
    if (kind == mm::S2DescKind::kInvalid) return;
    if (kind != mm::S2DescKind::kTable) {
      c.leaves.push_back(Leaf{ipa, level, raw});
      return;
    }
    const uint64_t* table = entries(mm::table_address(raw));
    if (table == nullptr) {
      ++c.dangling_tables;
      return;
    }
    ++c.table_pages;
    bool any = false;
    for (uint64_t i = 0; i < 512; ++i) {
      any = any || mm::classify(table[i], level + 1) != mm::S2DescKind::kInvalid;
      visit(c, table[i], ipa + i * mm::s2_entry_size(level + 1), level + 1);
    }
    if (!any) ++c.empty_tables;
  }

 public:

 private:
  struct alignas(4096) Page {
    uint64_t entries[512];
  };
  // state_: kFree, or the first page of an allocation (its page count), or
  // kTail for the following pages.
  static constexpr uint8_t kFree = 0;
  static constexpr uint8_t kTail = 0xff;

  [[nodiscard]] size_t index_of(mm::PhysAddr pa) const {
    if (pa.value() < kBasePa || !pa.is_aligned(mm::kPageSize)) return SIZE_MAX;
    return static_cast<size_t>((pa.value() - kBasePa) / mm::kPageSize);
  }

  Result<mm::PhysAddr, mm::Error> alloc(unsigned pages) {
    std::lock_guard lock(mutex_);
    if (pages == 0 || pages > 16 || (pages & (pages - 1)) != 0 || live_ + pages > limit_)
      return Err{mm::Error::kNoMemory};
    size_t first = SIZE_MAX;
    if (pages == 1) {
      while (!free_singles_.empty()) {
        const size_t i = free_singles_.front();
        free_singles_.pop_front();
        if (state_[i] == kFree) {
          first = i;
          break;
        }
      }
    } else {
      for (size_t i = 0; i + pages <= max_pages_ && first == SIZE_MAX; i += pages) {
        bool all_free = true;
        for (size_t j = i; j < i + pages && all_free; ++j) all_free = state_[j] == kFree;
        if (all_free) first = i;
      }
    }
    if (first == SIZE_MAX) return Err{mm::Error::kNoMemory};
    for (size_t j = first; j < first + pages; ++j) {
      state_[j] = j == first ? static_cast<uint8_t>(pages) : kTail;
      std::memset(&pages_[j], 0, sizeof(Page));  // the contract: zeroed
    }
    live_ += pages;
    ++allocations_;
    return mm::PhysAddr(kBasePa + first * mm::kPageSize);
  }

  void free(mm::PhysAddr pa, unsigned pages) {
    FreeObserver observer;
    {
      std::lock_guard lock(mutex_);
      observer = observer_;
    }
    if (observer) observer(pa, host(pa), pages);
    std::lock_guard lock(mutex_);
    const size_t first = index_of(pa);
    if (first >= max_pages_ || state_[first] != pages) {
      ++bad_frees_;  // double free, never allocated, not the first page, or the wrong count
      return;
    }
    for (size_t j = first; j < first + pages; ++j) {
      state_[j] = kFree;
      std::memset(&pages_[j], 0xff, sizeof(Page));
      free_singles_.push_back(j);
    }
    live_ -= pages;
  }

  uint64_t* table(mm::PhysAddr pa) {
    std::lock_guard lock(mutex_);
    const size_t i = index_of(pa);
    if (i >= max_pages_ || state_[i] == kFree) {
      ++bad_translations_;
      std::memset(&scratch_, 0, sizeof scratch_);
      return scratch_.entries;
    }
    return pages_[i].entries;
  }

  static Result<mm::PhysAddr, mm::Error> alloc_thunk(void* context, unsigned pages) {
    return static_cast<FakeS2TableMemory*>(context)->alloc(pages);
  }
  static void free_thunk(void* context, mm::PhysAddr pa, unsigned pages) {
    static_cast<FakeS2TableMemory*>(context)->free(pa, pages);
  }
  static uint64_t* table_thunk(void* context, mm::PhysAddr pa) {
    return static_cast<FakeS2TableMemory*>(context)->table(pa);
  }

  mutable std::mutex mutex_;
  std::unique_ptr<Page[]> pages_;
  std::vector<uint8_t> state_;
  std::deque<size_t> free_singles_;
  size_t max_pages_;
  size_t limit_;
  size_t live_ = 0;
  size_t allocations_ = 0;
  unsigned bad_translations_ = 0;
  unsigned bad_frees_ = 0;
  FreeObserver observer_;
  Page scratch_{};
};

}  // namespace lamina::test
