#include "mm/error.hpp"

namespace lamina::mm {

const char* error_name(Error e) {
  switch (e) {
    case Error::kNoMemory: return "out of memory";
    case Error::kMisaligned: return "misaligned";
    case Error::kOutOfRange: return "out of range";
    case Error::kAlreadyMapped: return "already mapped";
    case Error::kWriteAndExecute: return "writable and executable";
    case Error::kExecuteDevice: return "executable device memory";
    case Error::kTooManyRegions: return "too many regions";
    case Error::kNotAllocated: return "not allocated";
    case Error::kVmidsExhausted: return "no free VMID";
    case Error::kBadAttributes: return "attributes not encodable";
    case Error::kBusy: return "address space busy (re-entered)";
  }
  return "unknown mm error";
}

}  // namespace lamina::mm
