// Moving data into a VM's RAM from EL2: scrubbing (zeroing frames before a
// guest may see them), copying the boot payload, and the frame sources
// behind guest RAM and stage-2 tables. EL2-only.
#pragma once

#include <cstdint>

#include "hyp/vm/guest_ram.hpp"
#include "mm/stage2.hpp"

namespace lamina::hyp {

class Vm;

// Frames for guest RAM and for stage-2 tables, from the frame allocator,
// serialized across CPUs (faults on several CPUs allocate tables at once).
[[nodiscard]] FrameSource guest_frame_source();
[[nodiscard]] mm::S2TableMemory stage2_table_memory();
// Frames for lamina's own per-VM data (e.g. the scrub bitmap, the DTB).
[[nodiscard]] Result<mm::PhysAddr, mm::Error> alloc_host_frames(uint64_t frames);

// Zeroes the not-yet-scrubbed pages of [ipa, ipa + size) of `vm`'s RAM and
// makes the zeroes visible to a guest running with caches off.
void scrub_guest_ram(Vm& vm, mm::IntermediatePhysAddr ipa, uint64_t size);

// Copies `bytes` bytes from host memory at `src` to guest IPA `ipa`
// (scrubbing first what it lands in); zero_guest writes zeroes.
void copy_to_guest(Vm& vm, mm::IntermediatePhysAddr ipa, const void* src, uint64_t bytes);
void zero_guest(Vm& vm, mm::IntermediatePhysAddr ipa, uint64_t bytes);

// Copies the VM's pristine kernel, initrd and DTB where its boot plan puts
// them, and makes them visible (and coherent for instruction fetch).
[[nodiscard]] bool copy_payload_to_guest(Vm& vm);

}  // namespace lamina::hyp
