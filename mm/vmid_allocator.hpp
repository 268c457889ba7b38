// VMID allocator: hands out the VMIDs that tag each VM's TLB entries.
//
// Bounded by the CPU's VMID width (ID_AA64MMFR1_EL1.VMIDBits: 8 or 16 bits,
// DDI 0487 K.a D23.2 "ID_AA64MMFR1_EL1"), which init() takes; VTCR_EL2.VS
// must select the same width (hyp::vtcr_el2_value does). VMID 0 is
// reserved: it is what VTTBR_EL2 holds when no VM is loaded (lamina's own
// state), and never names a VM, so a TLBI issued with no VM loaded can never
// hit a guest's entries.
//
// One bit per VMID in a bitmap inside the object (65536 bits = 8 KiB at
// most): no heap, usable before any allocator exists. Too big for a CPU's
// 16 KiB stack: give it static storage.
//
// A VMID is handed out at most once until it is freed. The allocator does
// no TLB maintenance: a VM's owner invalidates its VMID
// (mm::s2ops::invalidate_vmid, e.g. through Stage2::destroy) before free(),
// so the next VM that gets the VMID starts with no stale entries.
//
// Concurrency: not thread-safe and contains no locking. VMIDs are taken and
// returned only when VMs are created and destroyed, which the VM layer
// serializes (it owns the allocator behind its own lock, as the frame
// allocator's caller does); a lock here would be a second one taken inside
// that one for no benefit.
//
// Every call either succeeds or returns an error and leaves the allocator
// unchanged.
#pragma once

#include <cstdint>

#include "hyp/lib/result.hpp"
#include "mm/error.hpp"
#include "mm/vmid.hpp"

namespace lamina::mm {

class VmidAllocator {
 public:
  static constexpr unsigned kMaxVmidBits = 16;
  // The reserved VMID: "no VM" (lamina itself).
  static constexpr Vmid kReserved{0};

  constexpr VmidAllocator() = default;
  VmidAllocator(const VmidAllocator&) = delete;
  VmidAllocator& operator=(const VmidAllocator&) = delete;

  // init() - Manage the VMIDs of a @vmid_bits-wide VMID (8 or 16), all free
  // but VMID 0. Forgets any previous state.
  //
  // Return: Ok, or kOutOfRange for any other width (the allocator is then
  // left as it was).
  [[nodiscard]] Status<Error> init(unsigned vmid_bits);

  // alloc() - A free VMID, never 0. Next-fit: the search starts after the
  // VMID handed out last and wraps once, so a freed VMID is reused only
  // after the others (its stale TLB entries, if the owner forgot them, are
  // then least likely to matter; they must still be invalidated).
  //
  // Return: the VMID, or kVmidsExhausted when every VMID 1..2^bits-1 is in
  // use (or init() was never called).
  [[nodiscard]] Result<Vmid, Error> alloc();

  // free() - Return @vmid for reuse.
  //
  // Return: Ok, or
  //  kOutOfRange   for VMID 0 (never handed out) or a VMID beyond the width;
  //  kNotAllocated if @vmid is free already (double free, or never allocated).
  [[nodiscard]] Status<Error> free(Vmid vmid);

  // in_use() - VMIDs currently allocated.
  [[nodiscard]] uint32_t in_use() const { return in_use_; }
  // capacity() - VMIDs that can be allocated at once: 2^bits - 1 (255 or
  // 65535), 0 before init().
  [[nodiscard]] uint32_t capacity() const { return limit_ == 0 ? 0 : limit_ - 1; }
  // is_allocated() - Whether @vmid is currently allocated.
  [[nodiscard]] bool is_allocated(Vmid vmid) const;

 private:
  static constexpr uint32_t kMaxVmids = uint32_t{1} << kMaxVmidBits;
  static constexpr uint32_t kWords = kMaxVmids / 64;

  [[nodiscard]] bool test(uint32_t id) const { return (bits_[id / 64] >> (id % 64)) & 1; }
  // The first free VMID in [from, to), or `to`.
  [[nodiscard]] uint32_t find_free(uint32_t from, uint32_t to) const;

  uint64_t bits_[kWords] = {};  // bit set = allocated; VMID 0's bit is always set
  uint32_t limit_ = 0;          // 2^bits: VMIDs are 0..limit_-1
  uint32_t in_use_ = 0;         // allocated VMIDs, 0 excluded
  uint32_t next_ = 1;           // where the next search starts
};

}  // namespace lamina::mm
