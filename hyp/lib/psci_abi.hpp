// PSCI and SMCCC function IDs and return codes, shared by lamina's PSCI
// *client* (hyp/firmware.cpp, hyp/smp.cpp: talking to the host firmware) and
// its PSCI/SMCCC *server* (hyp/lib/psci_server: answering a guest).
//
// PSCI: Arm DEN 0022 "Arm Power State Coordination Interface" (issue D, PSCI
// 1.1, and issue E, PSCI 1.2), 5.1 "Function prototypes" (the table of
// function IDs and the per-function subsections, cited below by title since
// their numbers move between issues) and 5.2.2
// "Return error codes".
// SMCCC: Arm DEN 0028 "SMC Calling Convention" (issue 1.1 and later), 2.5
// "SMC and HVC Function Identifiers" (bit 30 selects SMC32/SMC64) and 7
// "Arm Architecture Calls" (SMCCC_VERSION, SMCCC_ARCH_FEATURES,
// SMCCC_ARCH_WORKAROUND_1/2/3).
//
// Naming: a function that exists only as SMC32 has a bare name (kCpuOff);
// one with both conventions has kFoo32 and kFoo64, and kCpuSuspend/kCpuOn/
// kAffinityInfo alias their SMC32 IDs.
#pragma once

#include <cstdint>

namespace lamina::psci {

// --- PSCI function IDs (DEN 0022 5.1 "Function prototypes") ---------------
inline constexpr uint32_t kVersion = 0x84000000;               // PSCI_VERSION
inline constexpr uint32_t kCpuSuspend32 = 0x84000001;          // CPU_SUSPEND
inline constexpr uint32_t kCpuSuspend64 = 0xc4000001;
inline constexpr uint32_t kCpuOff = 0x84000002;                // CPU_OFF (SMC32 only)
inline constexpr uint32_t kCpuOn32 = 0x84000003;               // CPU_ON
inline constexpr uint32_t kCpuOn64 = 0xc4000003;
inline constexpr uint32_t kAffinityInfo32 = 0x84000004;        // AFFINITY_INFO
inline constexpr uint32_t kAffinityInfo64 = 0xc4000004;
inline constexpr uint32_t kMigrate32 = 0x84000005;             // MIGRATE
inline constexpr uint32_t kMigrate64 = 0xc4000005;
inline constexpr uint32_t kMigrateInfoType = 0x84000006;       // MIGRATE_INFO_TYPE (SMC32 only)
inline constexpr uint32_t kMigrateInfoUpCpu32 = 0x84000007;    // MIGRATE_INFO_UP_CPU
inline constexpr uint32_t kMigrateInfoUpCpu64 = 0xc4000007;
inline constexpr uint32_t kSystemOff = 0x84000008;             // SYSTEM_OFF (SMC32 only)
inline constexpr uint32_t kSystemReset = 0x84000009;           // SYSTEM_RESET (SMC32 only)
inline constexpr uint32_t kFeatures = 0x8400000a;              // PSCI_FEATURES (SMC32 only)
inline constexpr uint32_t kCpuFreeze = 0x8400000b;             // CPU_FREEZE (SMC32 only)
inline constexpr uint32_t kCpuDefaultSuspend32 = 0x8400000c;   // CPU_DEFAULT_SUSPEND
inline constexpr uint32_t kCpuDefaultSuspend64 = 0xc400000c;
inline constexpr uint32_t kNodeHwState32 = 0x8400000d;         // NODE_HW_STATE
inline constexpr uint32_t kNodeHwState64 = 0xc400000d;
inline constexpr uint32_t kSystemSuspend32 = 0x8400000e;       // SYSTEM_SUSPEND
inline constexpr uint32_t kSystemSuspend64 = 0xc400000e;
inline constexpr uint32_t kSetSuspendMode = 0x8400000f;        // PSCI_SET_SUSPEND_MODE (SMC32 only)
inline constexpr uint32_t kStatResidency32 = 0x84000010;       // PSCI_STAT_RESIDENCY
inline constexpr uint32_t kStatResidency64 = 0xc4000010;
inline constexpr uint32_t kStatCount32 = 0x84000011;           // PSCI_STAT_COUNT
inline constexpr uint32_t kStatCount64 = 0xc4000011;
inline constexpr uint32_t kSystemReset2_32 = 0x84000012;       // SYSTEM_RESET2
inline constexpr uint32_t kSystemReset2_64 = 0xc4000012;
inline constexpr uint32_t kMemProtect = 0x84000013;            // MEM_PROTECT (SMC32 only)
inline constexpr uint32_t kMemProtectCheckRange32 = 0x84000014;  // MEM_PROTECT_CHECK_RANGE
inline constexpr uint32_t kMemProtectCheckRange64 = 0xc4000014;

// Aliases so both spellings read naturally at call sites.
inline constexpr uint32_t kCpuSuspend = kCpuSuspend32;
inline constexpr uint32_t kCpuOn = kCpuOn32;
inline constexpr uint32_t kAffinityInfo = kAffinityInfo32;

// PSCI_VERSION encoding: major in bits[31:16], minor in bits[15:0]
// (DEN 0022 "PSCI_VERSION").
[[nodiscard]] constexpr uint32_t make_version(uint32_t major, uint32_t minor) { return (major << 16) | minor; }
inline constexpr uint32_t kVersion1_1 = make_version(1, 1);  // 0x10001

// MIGRATE_INFO_TYPE result 2: "Trusted OS is either not present or does not
// require migration" (DEN 0022 "MIGRATE_INFO_TYPE").
inline constexpr int64_t kMigrateInfoTypeNotPresent = 2;

// AFFINITY_INFO results (DEN 0022 "AFFINITY_INFO").
inline constexpr int64_t kAffinityOn = 0;
inline constexpr int64_t kAffinityOff = 1;
inline constexpr int64_t kAffinityOnPending = 2;

// SYSTEM_RESET2 reset_type: bit 31 set = vendor-specific reset; with bit 31
// clear, 0 = SYSTEM_WARM_RESET and every other value is reserved (DEN 0022
// "SYSTEM_RESET2").
inline constexpr uint32_t kResetTypeVendorBit = 1u << 31;
inline constexpr uint32_t kResetTypeWarm = 0;

// PSCI_FEATURES result for CPU_SUSPEND is a flags word (DEN 0022
// "PSCI_FEATURES"): bit 1 = power_state format (0 original, 1 extended),
// bit 0 = OS-initiated mode supported.
inline constexpr int64_t kCpuSuspendFeatureExtendedStateId = 1 << 1;
inline constexpr int64_t kCpuSuspendFeatureOsInitiated = 1 << 0;

// Return codes (DEN 0022 5.2.2 "Return error codes").
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

// Function ID bit 30: 1 = SMC64/HVC64 calling convention, 0 = SMC32/HVC32
// (DEN 0028 2.5 "SMC and HVC Function Identifiers").
inline constexpr uint32_t kFunctionIdSmc64Bit = 1u << 30;
[[nodiscard]] constexpr bool is_smc64(uint32_t function_id) { return (function_id & kFunctionIdSmc64Bit) != 0; }

}  // namespace lamina::psci

namespace lamina::smccc {

// Arm Architecture Calls (DEN 0028 7 "Arm Architecture Calls").
inline constexpr uint32_t kVersion = 0x80000000;            // SMCCC_VERSION
inline constexpr uint32_t kArchFeatures = 0x80000001;       // SMCCC_ARCH_FEATURES
inline constexpr uint32_t kArchWorkaround1 = 0x80008000;    // CVE-2017-5715, Spectre v2
inline constexpr uint32_t kArchWorkaround2 = 0x80007fff;    // CVE-2018-3639, Spectre v4
inline constexpr uint32_t kArchWorkaround3 = 0x80003fff;    // CVE-2022-23960, Spectre-BHB

// SMCCC_VERSION encoding: bit 31 zero, major bits[30:16], minor bits[15:0].
inline constexpr uint32_t kVersion1_1 = 0x10001;

// Return codes (DEN 0028 "Return codes" in "Arm Architecture Calls").
inline constexpr int64_t kSuccess = 0;
inline constexpr int64_t kNotSupported = -1;
inline constexpr int64_t kNotRequired = -2;
inline constexpr int64_t kInvalidParameter = -3;

// SMCCC_ARCH_FEATURES(SMCCC_ARCH_WORKAROUND_1/3) returns 1 when the calling
// PE does not need the firmware mitigation (DEN 0028 "SMCCC_ARCH_WORKAROUND_1" / "_3", discovery).
inline constexpr int64_t kWorkaroundNotRequiredOnThisPe = 1;

}  // namespace lamina::smccc
