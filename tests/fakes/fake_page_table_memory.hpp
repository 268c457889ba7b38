// A host double for mm::PageTableMemory: a fixed arena of 4K-aligned pages
// with fake physical addresses (kBasePa + index * 4096), so a table builder
// that dereferences a PA directly instead of going through table() reads
// unrelated host memory and fails loudly under ASan rather than "working".
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "mm/addr.hpp"
#include "mm/error.hpp"
#include "mm/hyp_map.hpp"

namespace lamina::test {

class FakePageTableMemory {
 public:
  static constexpr uint64_t kBasePa = 0x1000'0000;

  explicit FakePageTableMemory(size_t max_pages) : pages_(new Page[max_pages]), max_pages_(max_pages) {}
  FakePageTableMemory(const FakePageTableMemory&) = delete;
  FakePageTableMemory& operator=(const FakePageTableMemory&) = delete;

  [[nodiscard]] mm::PageTableMemory memory() { return mm::PageTableMemory{this, &alloc_thunk, &table_thunk}; }

  [[nodiscard]] size_t pages_allocated() const { return used_; }
  // table() calls with a PA that is not an allocated page.
  [[nodiscard]] unsigned bad_translations() const { return bad_translations_; }
  [[nodiscard]] bool owns(mm::PhysAddr pa) const { return index_of(pa) < used_; }

  // The raw entries of the table at `pa` (for tests that inspect tables).
  [[nodiscard]] const uint64_t* entries(mm::PhysAddr pa) const {
    const size_t i = index_of(pa);
    return i < used_ ? pages_[i].entries : nullptr;
  }

 private:
  struct alignas(4096) Page {
    uint64_t entries[512];
  };

  [[nodiscard]] size_t index_of(mm::PhysAddr pa) const {
    if (pa.value() < kBasePa || !pa.is_aligned(mm::kPageSize)) return SIZE_MAX;
    return static_cast<size_t>((pa.value() - kBasePa) / mm::kPageSize);
  }

  static Result<mm::PhysAddr, mm::Error> alloc_thunk(void* context) {
    auto* self = static_cast<FakePageTableMemory*>(context);
    if (self->used_ == self->max_pages_) return Err{mm::Error::kNoMemory};
    Page& page = self->pages_[self->used_];
    std::memset(&page, 0, sizeof page);  // the contract: a zeroed page
    return mm::PhysAddr(kBasePa + self->used_++ * mm::kPageSize);
  }

  static uint64_t* table_thunk(void* context, mm::PhysAddr pa) {
    auto* self = static_cast<FakePageTableMemory*>(context);
    const size_t i = self->index_of(pa);
    if (i >= self->used_) {
      ++self->bad_translations_;
      std::memset(&self->scratch_, 0, sizeof self->scratch_);
      return self->scratch_.entries;
    }
    return self->pages_[i].entries;
  }

  std::unique_ptr<Page[]> pages_;
  size_t max_pages_;
  size_t used_ = 0;
  unsigned bad_translations_ = 0;
  Page scratch_{};
};

}  // namespace lamina::test
