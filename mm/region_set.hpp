// A sorted, coalesced set of disjoint physical ranges with a fixed capacity.
//
// Boot code uses it to describe memory: the RAM banks from the DTB, minus
// /memreserve/ entries, minus lamina's own image, minus the DTB, and so on,
// before the frame allocator takes over what is left. It never allocates, so
// it works before anything else in mm/ does.
//
// Invariants (hold after every call, including failed ones):
//  - ranges_[0..count_) are sorted by base, non-empty, and neither overlap
//    nor touch: ranges_[i].end() < ranges_[i + 1].base;
//  - every range's end() is representable: base + size <= UINT64_MAX, so a
//    range that would end at or beyond 2^64 is never stored.
//
// Every mutating call either succeeds completely or returns an error and
// leaves the set unchanged.
//
// Not thread-safe; the caller serializes access.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"
#include "mm/error.hpp"

namespace lamina::mm {

class RegionSet {
 public:
  static constexpr size_t kCapacity = 64;

  constexpr RegionSet() = default;

  // add() - Add @range to the set.
  // @range: the range to add; any alignment, may be empty.
  //
  // Merges @range with every range it overlaps or touches, so the set stays
  // coalesced. An empty range is a no-op.
  //
  // Return: Ok, or
  //  kOutOfRange     if @range.base + @range.size exceeds UINT64_MAX;
  //  kTooManyRegions if @range merges with nothing and the set is full.
  [[nodiscard]] Status<Error> add(PhysRange range);

  // subtract() - Remove @range from the set.
  // @range: the range to remove; any alignment, may be empty.
  //
  // Trims or drops every range @range overlaps; a range that strictly
  // contains @range is split in two. Bytes of @range not in the set are
  // ignored. An empty range is a no-op.
  //
  // Return: Ok, or
  //  kOutOfRange     if @range.base + @range.size exceeds UINT64_MAX;
  //  kTooManyRegions if the split needs one more entry and the set is full.
  [[nodiscard]] Status<Error> subtract(PhysRange range);

  // clear() - Remove every range.
  void clear() { count_ = 0; }

  // count() - Number of disjoint ranges in the set.
  [[nodiscard]] size_t count() const { return count_; }

  // operator[]() - The @index-th range, in ascending address order.
  // Return: the range, or an empty range at PA 0 if @index >= count().
  [[nodiscard]] PhysRange operator[](size_t index) const {
    return index < count_ ? ranges_[index] : PhysRange{};
  }

  // total_bytes() - Sum of the sizes of all ranges (cannot overflow: every
  // stored range ends at or below UINT64_MAX).
  [[nodiscard]] uint64_t total_bytes() const;

  // contains() - Whether every byte of @range is in the set.
  //
  // Because the set is coalesced this means one stored range covers all of
  // @range. An empty @range is contained (vacuously); a @range whose end
  // exceeds UINT64_MAX is not.
  [[nodiscard]] bool contains(PhysRange range) const;

  // find_free() - Lowest @align-aligned address with @size bytes in the set.
  // @size:  bytes needed, > 0; not rounded.
  // @align: alignment of the returned address in bytes, a power of two.
  //
  // Returns the lowest PA such that [PA, PA + @size) lies inside one range
  // and PA is a multiple of @align. The set is not modified (the caller
  // subtracts what it takes).
  //
  // Return: the PA, or
  //  kMisaligned if @align is not a power of two;
  //  kOutOfRange if @size is 0;
  //  kNoMemory   if no range has room.
  [[nodiscard]] Result<PhysAddr, Error> find_free(uint64_t size, uint64_t align) const;

  // align_inward() - Shrink every range to @align boundaries.
  // @align: a power of two, typically kPageSize.
  //
  // Each range's base is rounded up and its end rounded down to a multiple of
  // @align; ranges left empty are dropped. The result only ever loses bytes,
  // so it stays sorted and coalesced. If @align is not a power of two the set
  // is left unchanged (neutral code has no panic; callers pass constants).
  void align_inward(uint64_t align);

 private:
  // Index of the first range whose end() is > @pa (count_ if none).
  [[nodiscard]] size_t first_ending_after(uint64_t pa) const;
  // Index of the first range whose end() is >= @pa (count_ if none).
  [[nodiscard]] size_t first_ending_at_or_after(uint64_t pa) const;
  // Replaces ranges_[first, last) with @n entries from @replacement.
  void splice(size_t first, size_t last, const PhysRange* replacement, size_t n);

  PhysRange ranges_[kCapacity] = {};
  size_t count_ = 0;
};

}  // namespace lamina::mm
