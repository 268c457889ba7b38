#include "hyp/memory.hpp"

#include "boot/hyp_mmu.hpp"
#include "hyp/log.hpp"
#include "mm/region_set.hpp"

namespace lamina::hyp {

namespace {
mm::FrameAllocator g_frames;
mm::RegionSet g_usable;
mm::RegionSet g_mappable;
}  // namespace

mm::FrameAllocator& frame_allocator() { return g_frames; }

Status<mm::Error> init_memory(const Platform& platform, mm::PhysRange image, std::span<const mm::PhysRange> modules) {
  for (size_t i = 0; i < platform.memory_count; ++i) {
    TRY(g_usable.add(platform.memory[i]));
    TRY(g_mappable.add(platform.memory[i]));
  }
  for (size_t i = 0; i < platform.reserved_count; ++i) {
    TRY(g_usable.subtract(platform.reserved[i].range));
    // no-map regions may be firmware memory with other attributes: never
    // give them a cacheable alias.
    if (platform.reserved[i].no_map) TRY(g_mappable.subtract(platform.reserved[i].range));
  }
  TRY(g_usable.subtract(image));
  // The image keeps its own finer map: its guard pages must stay unmapped.
  TRY(g_mappable.subtract(image));
  TRY(g_usable.subtract(platform.dtb));
  for (const mm::PhysRange& m : modules) {
    if (!g_usable.contains(m)) return Err{mm::Error::kOutOfRange};
    const mm::PhysAddr base = m.base.align_down(mm::kPageSize);
    TRY(g_usable.subtract({base, mm::align_up(m.end().value(), mm::kPageSize) - base.value()}));
  }
  g_usable.align_inward(mm::kPageSize);

  for (size_t i = 0; i < g_mappable.count(); ++i) TRY(boot::map_ram(g_mappable[i]));

  const uint64_t bitmap_bytes = mm::align_up(mm::FrameAllocator::bitmap_bytes_for(g_usable), mm::kPageSize);
  const mm::PhysAddr bitmap_pa = TRY(g_usable.find_free(bitmap_bytes, mm::kPageSize));
  TRY(g_frames.init(g_usable, mm::to_ptr<uint64_t>(mm::to_va(bitmap_pa)), bitmap_bytes));
  TRY(g_frames.reserve({bitmap_pa, bitmap_bytes}));

  LOG_INFO("memory: {} MiB usable in {} ranges, {} MiB free for VMs (allocator bitmap at {})",
           g_usable.total_bytes() >> 20, g_usable.count(), (g_frames.free_frames() * mm::kPageSize) >> 20,
           bitmap_pa);
  return Ok{};
}

}  // namespace lamina::hyp
