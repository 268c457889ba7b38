#include "hyp/guest_memory.hpp"

#include "arch/cache.hpp"
#include "arch/sysreg.hpp"
#include "hyp/log.hpp"
#include "hyp/memory.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vm.hpp"
#include "mm/stage2_arch_ops.hpp"

namespace lamina::hyp {

namespace {

SpinLock g_frames_lock;

// The frame allocator's lock for one scope.
class FramesGuard : public SpinLockGuard {
 public:
  FramesGuard() : SpinLockGuard(g_frames_lock, this_cpu().index) {}
};

Result<mm::PhysAddr, mm::Error> alloc_ram(void* /*context*/, uint64_t frames, uint64_t align_frames) {
  FramesGuard guard;
  return frame_allocator().alloc(frames, align_frames);
}

void free_ram(void* /*context*/, mm::PhysAddr pa, uint64_t frames) {
  FramesGuard guard;
  if (auto r = frame_allocator().free(pa, frames); !r.ok())
    LOG_ERROR("freeing guest frames at {}: {}", pa, mm::error_name(r.error()));
}

// DCZID_EL0 (DDI 0487 K.a D23.2 "DCZID_EL0"): DZP [4] prohibits DC ZVA,
// BS [3:0] is log2 of the block size in words.
constexpr uint64_t kDczidDzp = 1u << 4;
constexpr uint64_t kDczidBsMask = 0xf;

// Zeroes [va, va + bytes) (page-aligned) with DC ZVA where allowed, eight
// blocks per loop iteration: one instruction per block instead of one
// store per 16 bytes, which matters for the 2 MiB and 1 GiB blocks of a
// guest's first touch.
void zero_pages(uint8_t* p, uint64_t bytes) {
  uint64_t dczid;
  asm volatile("mrs %0, dczid_el0" : "=r"(dczid));
  const uint64_t block = uint64_t{4} << (dczid & kDczidBsMask);
  if ((dczid & kDczidDzp) != 0 || block > 2048) {
    __builtin_memset(p, 0, bytes);
    return;
  }
  const uint64_t step = 8 * block;
  uint8_t* const end = p + bytes;
  if (bytes % step == 0) {
    for (; p < end; p += step) {
      asm volatile(
          "dc zva, %0\n\t"
          "dc zva, %1\n\t"
          "dc zva, %2\n\t"
          "dc zva, %3\n\t"
          "dc zva, %4\n\t"
          "dc zva, %5\n\t"
          "dc zva, %6\n\t"
          "dc zva, %7" ::"r"(p),
          "r"(p + block), "r"(p + 2 * block), "r"(p + 3 * block), "r"(p + 4 * block), "r"(p + 5 * block),
          "r"(p + 6 * block), "r"(p + 7 * block)
          : "memory");
    }
  } else {
    for (; p < end; p += block) asm volatile("dc zva, %0" ::"r"(p) : "memory");
  }
  arch::dsb_ish();
}

// Stage-2 tables: zeroed, and cleaned to the PoC so that the walker never
// depends on the walk being cacheable.
Result<mm::PhysAddr, mm::Error> alloc_tables(void* /*context*/, unsigned pages) {
  mm::PhysAddr pa;
  {
    FramesGuard guard;
    pa = TRY(frame_allocator().alloc(pages, pages));
  }
  const uint64_t bytes = uint64_t{pages} * mm::kPageSize;
  zero_pages(mm::to_ptr<uint8_t>(mm::to_va(pa)), bytes);
  arch::clean_dcache_to_poc(mm::to_va(pa).value(), bytes);
  return pa;
}

void free_tables(void* context, mm::PhysAddr pa, unsigned pages) { free_ram(context, pa, pages); }

uint64_t* table_at(void* /*context*/, mm::PhysAddr pa) { return mm::to_ptr<uint64_t>(mm::to_va(pa)); }

// Zeroes guest frames the first time a guest may see them.
void zero_frames(void* context, mm::PhysAddr pa, uint64_t bytes) {
  const Vm& vm = *static_cast<const Vm*>(context);
  zero_pages(mm::to_ptr<uint8_t>(mm::to_va(pa)), bytes);
  // Without FWB a guest with its MMU off reads memory non-cacheably: the
  // zeroes must reach the PoC.
  if (!vm.fwb) arch::clean_dcache_to_poc(mm::to_va(pa).value(), bytes);
}

}  // namespace

FrameSource guest_frame_source() { return FrameSource{nullptr, alloc_ram, free_ram}; }

mm::S2TableMemory stage2_table_memory() {
  mm::S2TableMemory m;
  m.alloc = alloc_tables;
  m.free = free_tables;
  m.table = table_at;
  return m;
}

Result<mm::PhysAddr, mm::Error> alloc_host_frames(uint64_t frames) { return alloc_ram(nullptr, frames, 1); }

void scrub_guest_ram(Vm& vm, mm::IntermediatePhysAddr ipa, uint64_t size) {
  vm.ram.scrub(ipa, size, zero_frames, &vm);
}

namespace {

// Calls fn(host pointer, bytes) for each host-contiguous piece of
// [ipa, ipa + bytes) of guest RAM.
template <typename Fn>
bool for_each_piece(Vm& vm, mm::IntermediatePhysAddr ipa, uint64_t bytes, Fn fn) {
  uint64_t done = 0;
  while (done < bytes) {
    auto piece = vm.ram.translate(ipa.offset(done));
    if (!piece.ok()) return false;
    uint64_t n = piece.value().size;
    if (n > bytes - done) n = bytes - done;
    fn(piece.value().pa, done, n);
    done += n;
  }
  return true;
}

// Makes [pa, pa + n) of guest RAM, just written through lamina's cacheable
// map, visible to the guest. With HCR_EL2.FWB stage 2 forces every guest
// access to its RAM to Normal Write-Back, even with the guest's MMU or
// caches off (DDI 0487 K.a D8.5.6 "Stage 2 memory type and Cacheability
// attributes when FEAT_S2FWB is enabled"), so nothing needs to reach the
// PoC; with CTR_EL0.IDC = 1 instruction fetches need no clean to the PoU
// either (DDI 0487 K.a D23.2 "CTR_EL0"). Only the I-cache is left (nothing
// with CTR_EL0.DIC = 1). Skipping the clean saves one DC CVAC per 64 bytes:
// about 2M instructions for a Linux guest's kernel and initrd.
void publish_to_guest(const Vm& vm, mm::PhysAddr pa, uint64_t n, bool executable) {
  if (vm.fwb && arch::read<arch::CtrEl0>().get(arch::CtrEl0::idc)) {
    if (executable) mm::s2ops::sync_icache(pa, n);
    return;
  }
  mm::make_visible_to_guest(pa, n, executable);
}

}  // namespace

void copy_to_guest(Vm& vm, mm::IntermediatePhysAddr ipa, const void* src, uint64_t bytes) {
  // The copy overwrites its whole pages: only the partial pages at its ends
  // need zeroing (no vCPU of the VM runs while its payload is copied).
  vm.ram.mark_overwritten(ipa, bytes);
  scrub_guest_ram(vm, ipa, bytes);
  const auto* from = static_cast<const uint8_t*>(src);
  (void)for_each_piece(vm, ipa, bytes, [&](mm::PhysAddr pa, uint64_t offset, uint64_t n) {
    __builtin_memcpy(mm::to_ptr<void>(mm::to_va(pa)), from + offset, n);
    publish_to_guest(vm, pa, n, true);
  });
}

void zero_guest(Vm& vm, mm::IntermediatePhysAddr ipa, uint64_t bytes) {
  scrub_guest_ram(vm, ipa, bytes);
  (void)for_each_piece(vm, ipa, bytes, [&](mm::PhysAddr pa, uint64_t, uint64_t n) {
    __builtin_memset(mm::to_ptr<void>(mm::to_va(pa)), 0, n);
    publish_to_guest(vm, pa, n, false);
  });
}

bool copy_payload_to_guest(Vm& vm) {
  const GuestBootPlan& plan = vm.plan;
  const auto* kernel = mm::to_ptr<const uint8_t>(mm::to_va(vm.desc.kernel.base));
  for (size_t i = 0; i < plan.copy_count; ++i) {
    const PayloadCopy& c = plan.copies[i];
    if (!vm.ram.contains(c.ipa, c.mem_size)) return false;
    copy_to_guest(vm, c.ipa, kernel + c.file_offset, c.file_size);
    if (c.mem_size > c.file_size) zero_guest(vm, c.ipa.offset(c.file_size), c.mem_size - c.file_size);
  }
  if (plan.initrd_size != 0) {
    if (!vm.ram.contains(plan.initrd, plan.initrd_size)) return false;
    copy_to_guest(vm, plan.initrd, mm::to_ptr<const void>(mm::to_va(vm.desc.ramdisk.base)), plan.initrd_size);
  }
  if (vm.dtb.size > plan.dtb_size || !vm.ram.contains(plan.dtb, vm.dtb.size)) return false;
  copy_to_guest(vm, plan.dtb, mm::to_ptr<const void>(mm::to_va(vm.dtb.base)), vm.dtb.size);
  return true;
}

}  // namespace lamina::hyp
