// Device-tree lookups the framework (tests/guest/lib/fdt.cpp) does not
// offer: a top-level node by its compatible string.
#pragma once

#include <cstdint>

#include "guest.hpp"

namespace bench {

// The first `reg` entry of the first node directly under the root whose
// `compatible` list contains `compatible`, decoded with the root's
// #address-cells/#size-cells; size 0 when there is no such node (or no
// valid blob).
guest::MemoryRange fdt_find_compatible(uintptr_t blob, const char* compatible);

}  // namespace bench
