#include "mm/region_set.hpp"

namespace lamina::mm {

namespace {

// End of @range, or false if it would exceed UINT64_MAX (2^64 itself is not
// representable, so a range ending exactly at 2^64 is refused too).
[[nodiscard]] bool checked_end(PhysRange range, uint64_t* end) {
  return checked_add(range.base.value(), range.size, end);
}

[[nodiscard]] PhysRange make_range(uint64_t base, uint64_t end) {
  return PhysRange{PhysAddr(base), end - base};
}

}  // namespace

size_t RegionSet::first_ending_after(uint64_t pa) const {
  size_t lo = 0;
  size_t hi = count_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (ranges_[mid].end().value() > pa)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

size_t RegionSet::first_ending_at_or_after(uint64_t pa) const {
  size_t lo = 0;
  size_t hi = count_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (ranges_[mid].end().value() >= pa)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

void RegionSet::splice(size_t first, size_t last, const PhysRange* replacement, size_t n) {
  const size_t removed = last - first;
  const size_t tail = count_ - last;
  if (n < removed) {
    for (size_t k = 0; k < tail; ++k) ranges_[first + n + k] = ranges_[last + k];
  } else if (n > removed) {
    for (size_t k = tail; k > 0; --k) ranges_[first + n + k - 1] = ranges_[last + k - 1];
  }
  for (size_t k = 0; k < n; ++k) ranges_[first + k] = replacement[k];
  count_ = count_ - removed + n;
}

Status<Error> RegionSet::add(PhysRange range) {
  uint64_t end = 0;
  if (!checked_end(range, &end)) return Err{Error::kOutOfRange};
  if (range.size == 0) return Ok{};
  const uint64_t base = range.base.value();

  // [first, last) are the ranges that overlap or touch the new one.
  const size_t first = first_ending_at_or_after(base);
  size_t last = first;
  while (last < count_ && ranges_[last].base.value() <= end) ++last;

  if (first == last) {
    if (count_ == kCapacity) return Err{Error::kTooManyRegions};
    splice(first, first, &range, 1);
    return Ok{};
  }
  const uint64_t merged_base =
      ranges_[first].base.value() < base ? ranges_[first].base.value() : base;
  const uint64_t last_end = ranges_[last - 1].end().value();
  const PhysRange merged = make_range(merged_base, last_end > end ? last_end : end);
  splice(first, last, &merged, 1);
  return Ok{};
}

Status<Error> RegionSet::subtract(PhysRange range) {
  uint64_t end = 0;
  if (!checked_end(range, &end)) return Err{Error::kOutOfRange};
  if (range.size == 0) return Ok{};
  const uint64_t base = range.base.value();

  // [first, last) are the ranges that share at least one byte with @range.
  const size_t first = first_ending_after(base);
  size_t last = first;
  while (last < count_ && ranges_[last].base.value() < end) ++last;
  if (first == last) return Ok{};

  PhysRange pieces[2];
  size_t n = 0;
  if (ranges_[first].base.value() < base)
    pieces[n++] = make_range(ranges_[first].base.value(), base);
  if (ranges_[last - 1].end().value() > end)
    pieces[n++] = make_range(end, ranges_[last - 1].end().value());

  // Only a split of a single range grows the set.
  if (count_ - (last - first) + n > kCapacity) return Err{Error::kTooManyRegions};
  splice(first, last, pieces, n);
  return Ok{};
}

uint64_t RegionSet::total_bytes() const {
  uint64_t total = 0;
  for (size_t i = 0; i < count_; ++i) total += ranges_[i].size;
  return total;
}

bool RegionSet::contains(PhysRange range) const {
  uint64_t end = 0;
  if (!checked_end(range, &end)) return false;
  if (range.size == 0) return true;
  const size_t i = first_ending_after(range.base.value());
  return i < count_ && ranges_[i].base <= range.base && ranges_[i].end().value() >= end;
}

Result<PhysAddr, Error> RegionSet::find_free(uint64_t size, uint64_t align) const {
  if (!is_power_of_two(align)) return Err{Error::kMisaligned};
  if (size == 0) return Err{Error::kOutOfRange};
  for (size_t i = 0; i < count_; ++i) {
    uint64_t rounded = 0;
    if (!checked_add(ranges_[i].base.value(), align - 1, &rounded)) continue;
    const uint64_t candidate = mm::align_down(rounded, align);
    const uint64_t end = ranges_[i].end().value();
    if (candidate < end && end - candidate >= size) return PhysAddr(candidate);
  }
  return Err{Error::kNoMemory};
}

void RegionSet::align_inward(uint64_t align) {
  if (!is_power_of_two(align)) return;
  size_t kept = 0;
  for (size_t i = 0; i < count_; ++i) {
    uint64_t rounded = 0;
    if (!checked_add(ranges_[i].base.value(), align - 1, &rounded)) continue;
    const uint64_t base = mm::align_down(rounded, align);
    const uint64_t end = mm::align_down(ranges_[i].end().value(), align);
    if (base < end) ranges_[kept++] = make_range(base, end);
  }
  count_ = kept;
}

}  // namespace lamina::mm
