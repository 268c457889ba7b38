// lamina's EL2 stage-1 map: built before the MMU comes on, extended as the
// platform is discovered. EL2-only.
#pragma once

#include "hyp/lib/result.hpp"
#include "mm/hyp_map.hpp"

namespace lamina::boot {

// The one EL2 page table every CPU uses (valid after build_early_map).
[[nodiscard]] mm::HypPageTable& hyp_page_table();

// Maps a device region (rounded out to pages) as Device-nGnRE, read-write,
// execute-never, into the live table: filling invalid entries needs only a
// DSB and ISB, no TLB maintenance (see mm/hyp_map.hpp).
[[nodiscard]] Status<mm::Error> map_device(mm::PhysRange regs);

// Maps normal memory (RAM) read-write, execute-never, keeping any finer
// mapping already present (the image, the DTB).
[[nodiscard]] Status<mm::Error> map_ram(mm::PhysRange ram);

}  // namespace lamina::boot
