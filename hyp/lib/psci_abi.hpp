// PSCI function IDs and return codes (SMC64 calling convention).
// Arm DEN 0022 "Power State Coordination Interface", 5.1 "Function
// prototypes" and 5.2.2 "Return error codes".
#pragma once

#include <cstdint>

namespace lamina::psci {

inline constexpr uint32_t kVersion = 0x84000000;
inline constexpr uint32_t kCpuOff = 0x84000002;
inline constexpr uint32_t kCpuOn64 = 0xc4000003;
inline constexpr uint32_t kAffinityInfo64 = 0xc4000004;
inline constexpr uint32_t kSystemOff = 0x84000008;
inline constexpr uint32_t kSystemReset = 0x84000009;
inline constexpr uint32_t kFeatures = 0x8400000a;

enum class Status : int64_t {
  kSuccess = 0,
  kNotSupported = -1,
  kInvalidParameters = -2,
  kDenied = -3,
  kAlreadyOn = -4,
  kOnPending = -5,
  kInternalFailure = -6,
  kNotPresent = -7,
  kDisabled = -8,
  kInvalidAddress = -9,
};

[[nodiscard]] constexpr const char* status_name(int64_t status) {
  switch (static_cast<Status>(status)) {
    case Status::kSuccess: return "SUCCESS";
    case Status::kNotSupported: return "NOT_SUPPORTED";
    case Status::kInvalidParameters: return "INVALID_PARAMETERS";
    case Status::kDenied: return "DENIED";
    case Status::kAlreadyOn: return "ALREADY_ON";
    case Status::kOnPending: return "ON_PENDING";
    case Status::kInternalFailure: return "INTERNAL_FAILURE";
    case Status::kNotPresent: return "NOT_PRESENT";
    case Status::kDisabled: return "DISABLED";
    case Status::kInvalidAddress: return "INVALID_ADDRESS";
  }
  return "unknown PSCI status";
}

}  // namespace lamina::psci
