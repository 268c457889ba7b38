// Host memory at boot: lamina maps all RAM (minus `no-map` reserved regions)
// into its EL2 map and hands every frame that nobody else owns to the frame
// allocator: RAM banks minus the memreserve block, /reserved-memory, lamina's
// own image, the DTB and the VMs' payload modules (kept for the VMs' whole
// life: a VM reset reloads them). EL2-only.
#pragma once

#include <span>

#include "hyp/lib/result.hpp"
#include "hyp/platform/platform.hpp"
#include "mm/error.hpp"
#include "mm/frame_allocator.hpp"

namespace lamina::hyp {

// `modules`: ranges that must stay untouched (each must lie in usable RAM:
// kOutOfRange otherwise).
[[nodiscard]] Status<mm::Error> init_memory(const Platform& platform, mm::PhysRange image,
                                            std::span<const mm::PhysRange> modules);

// The frame allocator for page tables and VM memory (valid after init_memory).
[[nodiscard]] mm::FrameAllocator& frame_allocator();

}  // namespace lamina::hyp
