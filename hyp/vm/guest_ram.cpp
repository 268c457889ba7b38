#include "hyp/vm/guest_ram.hpp"

namespace lamina::hyp {

namespace {

constexpr uint64_t kPage = mm::kPageSize;
constexpr uint64_t k2M = uint64_t{1} << 21;
constexpr uint64_t k1G = uint64_t{1} << 30;

constexpr uint64_t min(uint64_t a, uint64_t b) { return a < b ? a : b; }
constexpr uint64_t max(uint64_t a, uint64_t b) { return a > b ? a : b; }

}  // namespace

bool GuestRam::push(mm::IntermediatePhysAddr ipa, mm::PhysAddr pa, uint64_t size) {
  if (count_ != 0) {
    RamSegment& last = segments_[count_ - 1];
    if (last.ipa.offset(last.size) == ipa && last.pa.offset(last.size) == pa) {
      last.size += size;
      return true;
    }
  }
  if (count_ == kMaxSegments) return false;
  segments_[count_++] = {ipa, pa, size};
  return true;
}

Status<mm::Error> GuestRam::allocate(mm::IntermediatePhysAddr base, uint64_t size, FrameSource source) {
  if (!base.is_aligned(kPage) || !mm::is_aligned(size, kPage) || size == 0) return Err{mm::Error::kMisaligned};
  base_ = base;
  size_ = 0;
  count_ = 0;
  source_ = source;
  uint64_t done = 0;
  while (done < size) {
    const mm::IntermediatePhysAddr ipa = base.offset(done);
    const uint64_t left = size - done;
    bool got = false;
    for (uint64_t align : {k1G, k2M, kPage}) {
      if (!ipa.is_aligned(align) || left < align) continue;
      // The run to ask for: one 1 GiB block; 2 MiB blocks up to the next
      // 1 GiB boundary (to try a 1 GiB block there again); pages up to the
      // next 2 MiB boundary. Halved on failure down to one unit of `align`.
      uint64_t want = align;
      if (align == k2M) want = min(mm::align_down(left, k2M), mm::align_up(ipa.value() + 1, k1G) - ipa.value());
      if (align == kPage) want = min(left, mm::align_up(ipa.value() + 1, k2M) - ipa.value());
      for (;;) {
        auto r = source.alloc(source.context, want / kPage, align / kPage);
        if (r.ok()) {
          if (!push(ipa, r.value(), want)) {
            source.free(source.context, r.value(), want / kPage);
            release();
            return Err{mm::Error::kNoMemory};
          }
          size_ = done + want;
          done += want;
          got = true;
          break;
        }
        if (want == align) break;
        want = max(align, mm::align_down(want / 2, align));
      }
      if (got) break;
    }
    if (!got) {
      release();
      return Err{mm::Error::kNoMemory};
    }
  }
  size_ = size;
  return Ok{};
}

Status<mm::Error> GuestRam::allocate_direct(uint64_t size, uint64_t align, FrameSource source) {
  if (!mm::is_aligned(size, kPage) || size == 0 || align < kPage || (align & (align - 1)) != 0) {
    return Err{mm::Error::kMisaligned};
  }
  count_ = 0;
  size_ = 0;
  source_ = source;
  auto run = source.alloc(source.context, size / kPage, align / kPage);
  if (!run.ok()) return Err{mm::Error::kNoMemory};
  base_ = mm::IntermediatePhysAddr(run.value().value());
  segments_[0] = {base_, run.value(), size};
  count_ = 1;
  size_ = size;
  return Ok{};
}

void GuestRam::release() {
  for (size_t i = 0; i < count_; ++i) {
    if (source_.free != nullptr) source_.free(source_.context, segments_[i].pa, segments_[i].size / kPage);
  }
  count_ = 0;
  size_ = 0;
}

const RamSegment* GuestRam::find(mm::IntermediatePhysAddr ipa) const {
  // Segments are in IPA order: binary search.
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const RamSegment& s = segments_[mid];
    if (ipa < s.ipa) hi = mid;
    else if (ipa.minus(s.ipa) >= s.size) lo = mid + 1;
    else return &s;
  }
  return nullptr;
}

Result<RamBlock, mm::Error> GuestRam::block_for(mm::IntermediatePhysAddr ipa) const {
  const RamSegment* s = find(ipa);
  if (s == nullptr) return Err{mm::Error::kOutOfRange};
  for (uint64_t block : {k1G, k2M, kPage}) {
    const mm::IntermediatePhysAddr start = ipa.align_down(block);
    if (start < s->ipa || start.minus(s->ipa) + block > s->size) continue;
    const mm::PhysAddr pa = s->pa.offset(start.minus(s->ipa));
    if (!pa.is_aligned(block)) continue;
    return RamBlock{start, pa, block};
  }
  return Err{mm::Error::kOutOfRange};  // unreachable: a segment is whole pages
}

Result<RamBlock, mm::Error> GuestRam::translate(mm::IntermediatePhysAddr ipa) const {
  const RamSegment* s = find(ipa);
  if (s == nullptr) return Err{mm::Error::kOutOfRange};
  const uint64_t off = ipa.minus(s->ipa);
  return RamBlock{ipa, s->pa.offset(off), s->size - off};
}

uint64_t GuestRam::scrub(mm::IntermediatePhysAddr ipa, uint64_t size,
                         void (*zero)(void* context, mm::PhysAddr pa, uint64_t bytes), void* context) {
  if (size == 0 || scrubbed_ == nullptr) return 0;
  const uint64_t first = ipa.align_down(kPage).minus(base_) / kPage;
  const uint64_t last = (mm::align_up(ipa.value() + size, kPage) - base_.value()) / kPage;  // exclusive
  uint64_t zeroed = 0;
  uint64_t page = first;
  while (page < last) {
    // Skip whole scrubbed words quickly.
    if (page % 64 == 0 && last - page >= 64 && scrubbed_[page / 64] == ~uint64_t{0}) {
      page += 64;
      continue;
    }
    if (page_scrubbed(page)) {
      ++page;
      continue;
    }
    // A run of unscrubbed pages inside one segment.
    const mm::IntermediatePhysAddr run_ipa = base_.offset(page * kPage);
    const RamSegment* s = find(run_ipa);
    if (s == nullptr) break;
    const uint64_t seg_end = (s->ipa.value() + s->size - base_.value()) / kPage;
    const uint64_t limit = seg_end < last ? seg_end : last;
    uint64_t end = page;
    while (end < limit) {
      // Whole unscrubbed words at once (a 2 MiB block is 8 words).
      if (end % 64 == 0 && limit - end >= 64 && scrubbed_[end / 64] == 0) {
        scrubbed_[end / 64] = ~uint64_t{0};
        end += 64;
        continue;
      }
      if (page_scrubbed(end)) break;
      scrubbed_[end / 64] |= uint64_t{1} << (end % 64);
      ++end;
    }
    zero(context, s->pa.offset(run_ipa.minus(s->ipa)), (end - page) * kPage);
    zeroed += (end - page) * kPage;
    page = end;
  }
  return zeroed;
}

uint64_t GuestRam::mark_overwritten(mm::IntermediatePhysAddr ipa, uint64_t size) {
  if (size == 0 || scrubbed_ == nullptr || !contains(ipa)) return 0;
  const uint64_t start = ipa.minus(base_);
  const uint64_t end = size < size_ - start ? start + size : size_;
  const uint64_t first = mm::align_up(start, kPage) / kPage;
  const uint64_t last = end / kPage;  // exclusive: a partial last page is not covered
  uint64_t marked = 0;
  for (uint64_t page = first; page < last; ++page) {
    if (page % 64 == 0 && last - page >= 64) {  // a whole word at once
      marked += 64 - static_cast<uint64_t>(__builtin_popcountll(scrubbed_[page / 64]));
      scrubbed_[page / 64] = ~uint64_t{0};
      page += 63;
      continue;
    }
    if (!page_scrubbed(page)) ++marked;
    scrubbed_[page / 64] |= uint64_t{1} << (page % 64);
  }
  return marked;
}

}  // namespace lamina::hyp
