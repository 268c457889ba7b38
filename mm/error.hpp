// mm's error domain.
#pragma once

namespace lamina::mm {

enum class Error {
  kNoMemory,       // no frame for a table or a mapping
  kMisaligned,     // an address or size not aligned to what the operation needs
  kOutOfRange,     // beyond the address space
  kAlreadyMapped,  // the range overlaps an existing mapping
  kWriteAndExecute,  // a mapping both writable and executable (WXN forbids it)
  kExecuteDevice,  // an executable device mapping
  kTooManyRegions,  // a fixed-capacity region table (RegionSet, allocator banks) is full
  kNotAllocated,   // freeing frames that are not allocated (double free)
  kBadAttributes,  // attributes the descriptor cannot encode (e.g. an EL1/EL0 execute split without FEAT_XNX)
  kBusy,           // the address space's lock is already held by this CPU (re-entry)
  kVmidsExhausted,  // every VMID the CPU's VMID width allows is in use
};

[[nodiscard]] const char* error_name(Error e);

}  // namespace lamina::mm
