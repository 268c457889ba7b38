#include "mm/frame_allocator.hpp"

#include <bit>

namespace lamina::mm {

namespace {

constexpr uint64_t kBitsPerWord = 64;
constexpr uint64_t kAllOnes = ~uint64_t{0};

// A range shrunk inward to whole frames, as [base_pfn, end_pfn).
struct FrameSpan {
  uint64_t base_pfn = 0;
  uint64_t end_pfn = 0;
  [[nodiscard]] uint64_t frames() const { return end_pfn > base_pfn ? end_pfn - base_pfn : 0; }
};

// Stored RegionSet ranges end at or below UINT64_MAX, so nothing here wraps.
[[nodiscard]] FrameSpan inward_frames(PhysRange range) {
  const uint64_t base = range.base.value();
  const uint64_t end = range.end().value();
  return FrameSpan{(base >> kPageShift) + (is_aligned(base, kPageSize) ? 0 : 1), end >> kPageShift};
}

[[nodiscard]] uint64_t words_for(uint64_t frames) {
  return (frames + kBitsPerWord - 1) / kBitsPerWord;
}

// Bits [bit, bit + count) of one word; 1 <= count <= 64 - bit.
[[nodiscard]] uint64_t word_mask(uint64_t bit, uint64_t count) {
  const uint64_t low = count == kBitsPerWord ? kAllOnes : (uint64_t{1} << count) - 1;
  return low << bit;
}

// First index in [from, limit) whose bit equals `set`, or `limit`. `limit`
// must not exceed the bitmap's bit count. Whole words with no such bit are
// skipped with one compare each.
template <bool kSet>
[[nodiscard]] uint64_t find_next(const uint64_t* bitmap, uint64_t from, uint64_t limit) {
  if (from >= limit) return limit;
  uint64_t w = from / kBitsPerWord;
  uint64_t word = (kSet ? bitmap[w] : ~bitmap[w]) & (kAllOnes << (from % kBitsPerWord));
  while (word == 0) {
    ++w;
    if (w * kBitsPerWord >= limit) return limit;
    word = kSet ? bitmap[w] : ~bitmap[w];
  }
  const uint64_t index = w * kBitsPerWord + static_cast<uint64_t>(std::countr_zero(word));
  return index < limit ? index : limit;
}

[[nodiscard]] uint64_t find_next_used(const uint64_t* bitmap, uint64_t from, uint64_t limit) {
  return find_next<true>(bitmap, from, limit);
}
[[nodiscard]] uint64_t find_next_free(const uint64_t* bitmap, uint64_t from, uint64_t limit) {
  return find_next<false>(bitmap, from, limit);
}

// Sets (kSet) or clears bits [start, start + count).
template <bool kSet>
void fill(uint64_t* bitmap, uint64_t start, uint64_t count) {
  while (count > 0) {
    const uint64_t bit = start % kBitsPerWord;
    const uint64_t n = count < kBitsPerWord - bit ? count : kBitsPerWord - bit;
    const uint64_t mask = word_mask(bit, n);
    if (kSet)
      bitmap[start / kBitsPerWord] |= mask;
    else
      bitmap[start / kBitsPerWord] &= ~mask;
    start += n;
    count -= n;
  }
}

}  // namespace

uint64_t FrameAllocator::bitmap_bytes_for(const RegionSet& usable) {
  uint64_t words = 0;
  for (size_t i = 0; i < usable.count(); ++i) words += words_for(inward_frames(usable[i]).frames());
  return words * sizeof(uint64_t);
}

Status<Error> FrameAllocator::init(const RegionSet& usable, uint64_t* bitmap_storage,
                                   uint64_t bitmap_bytes) {
  // Validate everything before touching any state.
  size_t banks = 0;
  for (size_t i = 0; i < usable.count(); ++i) {
    if (inward_frames(usable[i]).frames() != 0) ++banks;
  }
  if (banks > kMaxBanks) return Err{Error::kTooManyRegions};
  if (!is_aligned(reinterpret_cast<uintptr_t>(bitmap_storage), alignof(uint64_t))) {
    return Err{Error::kMisaligned};
  }
  const uint64_t needed = bitmap_bytes_for(usable);
  if (needed != 0 && (bitmap_storage == nullptr || bitmap_bytes < needed)) {
    return Err{Error::kNoMemory};
  }

  bank_count_ = 0;
  uint64_t* next_words = bitmap_storage;
  for (size_t i = 0; i < usable.count(); ++i) {
    const FrameSpan span = inward_frames(usable[i]);
    const uint64_t frames = span.frames();
    if (frames == 0) continue;
    const uint64_t words = words_for(frames);
    Bank& bank = banks_[bank_count_++];
    bank = Bank{span.base_pfn, frames, next_words, frames, 0};
    __builtin_memset(bank.bitmap, 0, words * sizeof(uint64_t));
    // Bits past the bank's last frame stay "used" forever, so the searches
    // need no end-of-bank special case inside the last word.
    const uint64_t tail = frames % kBitsPerWord;
    if (tail != 0) bank.bitmap[words - 1] = kAllOnes << tail;
    next_words += words;
  }
  for (size_t i = bank_count_; i < kMaxBanks; ++i) banks_[i] = Bank{};
  return Ok{};
}

FrameAllocator::Bank* FrameAllocator::bank_for(uint64_t pfn, uint64_t frames) {
  uint64_t end_pfn = 0;
  if (!checked_add(pfn, frames, &end_pfn)) return nullptr;
  for (size_t i = 0; i < bank_count_; ++i) {
    Bank& bank = banks_[i];
    if (pfn >= bank.base_pfn && end_pfn <= bank.base_pfn + bank.frames) return &bank;
  }
  return nullptr;
}

Status<Error> FrameAllocator::reserve(PhysRange range) {
  uint64_t end = 0;
  if (!checked_add(range.base.value(), range.size, &end)) return Err{Error::kOutOfRange};
  if (range.size == 0) return Ok{};
  const uint64_t first_pfn = range.base.value() >> kPageShift;
  const uint64_t end_pfn = (end >> kPageShift) + (is_aligned(end, kPageSize) ? 0 : 1);
  const uint64_t frames = end_pfn - first_pfn;

  Bank* bank = bank_for(first_pfn, frames);
  if (bank == nullptr) return Err{Error::kOutOfRange};
  const uint64_t start = first_pfn - bank->base_pfn;
  if (find_next_used(bank->bitmap, start, start + frames) != start + frames) {
    return Err{Error::kAlreadyMapped};
  }
  fill<true>(bank->bitmap, start, frames);
  bank->free -= frames;
  return Ok{};
}

Result<PhysAddr, Error> FrameAllocator::alloc(uint64_t frames, uint64_t align_frames) {
  if (frames == 0) return Err{Error::kOutOfRange};
  if (!is_power_of_two(align_frames)) return Err{Error::kMisaligned};

  for (size_t i = 0; i < bank_count_; ++i) {
    Bank& bank = banks_[i];
    // Also guarantees frames <= bank.frames, which the search relies on.
    if (bank.free < frames) continue;
    const uint64_t last_start = bank.frames - frames;

    // Next-fit: candidates from the hint to the end, then from the start up
    // to the hint (runs found then may extend past the hint).
    const uint64_t pass_from[2] = {bank.hint, 0};
    const uint64_t pass_limit[2] = {last_start + 1,
                                    bank.hint < last_start + 1 ? bank.hint : last_start + 1};
    for (int pass = 0; pass < 2; ++pass) {
      uint64_t start = pass_from[pass];
      while (true) {
        start = find_next_free(bank.bitmap, start, bank.frames);
        if (start >= bank.frames) break;
        // Align the PA, not the bank offset. No overflow: base_pfn + start
        // < 2^52 and align_frames <= 2^63.
        start = mm::align_up(bank.base_pfn + start, align_frames) - bank.base_pfn;
        if (start >= pass_limit[pass]) break;
        // The run is free if it holds no used bit; otherwise the next
        // candidate is past the used frame, so no bit is examined twice.
        const uint64_t used = find_next_used(bank.bitmap, start, start + frames);
        if (used == start + frames) {
          fill<true>(bank.bitmap, start, frames);
          bank.free -= frames;
          bank.hint = start + frames < bank.frames ? start + frames : 0;
          return PhysAddr((bank.base_pfn + start) << kPageShift);
        }
        start = used + 1;
      }
    }
  }
  return Err{Error::kNoMemory};
}

Status<Error> FrameAllocator::free(PhysAddr pa, uint64_t frames) {
  if (!pa.is_aligned(kFrameSize)) return Err{Error::kMisaligned};
  if (frames == 0) return Err{Error::kOutOfRange};
  const uint64_t pfn = pa.value() >> kPageShift;
  Bank* bank = bank_for(pfn, frames);
  if (bank == nullptr) return Err{Error::kOutOfRange};
  const uint64_t start = pfn - bank->base_pfn;
  if (find_next_free(bank->bitmap, start, start + frames) != start + frames) {
    return Err{Error::kNotAllocated};
  }
  fill<false>(bank->bitmap, start, frames);
  bank->free += frames;
  return Ok{};
}

uint64_t FrameAllocator::free_frames() const {
  uint64_t total = 0;
  for (size_t i = 0; i < bank_count_; ++i) total += banks_[i].free;
  return total;
}

uint64_t FrameAllocator::total_frames() const {
  uint64_t total = 0;
  for (size_t i = 0; i < bank_count_; ++i) total += banks_[i].frames;
  return total;
}

PhysRange FrameAllocator::bank(size_t index) const {
  if (index >= bank_count_) return PhysRange{};
  return PhysRange{PhysAddr(banks_[index].base_pfn << kPageShift),
                   banks_[index].frames << kPageShift};
}

}  // namespace lamina::mm
