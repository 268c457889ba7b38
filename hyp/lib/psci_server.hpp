// PsciServer: the architecture-neutral PSCI 1.1 + SMCCC 1.1 server that
// answers one VM's HVC/SMC calls (HCR_EL2.TSC routes SMC here too).
//
// A pure state machine: it decodes the function ID and arguments, updates the
// per-vCPU power state and returns the value for x0 together with an action the
// EL2 caller must carry out (start a vCPU, stop the caller, reset the VM...).
// It never touches a register, a vCPU context or a page table, so it is
// host-tested (tests/unit/hyp/lib/psci_server_test.cpp).
//
// Sources: Arm DEN 0022 "Arm Power State Coordination Interface" (PSCI 1.1/1.2)
// and Arm DEN 0028 "SMC Calling Convention"; the IDs and codes live in
// hyp/lib/psci_abi.hpp. The SMCCC_ARCH_WORKAROUND discovery answers follow
// DEN 0028 "SMCCC_ARCH_WORKAROUND_1/2/3" and match Linux's KVM
// (arch/arm64/kvm/hypercalls.c) and TF-A (services/arm_arch_svc).
//
// Not thread-safe: the VM layer serializes calls for one VM (it holds the VM
// lock around handle() and the vcpu_started()/cancel_start() follow-ups).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "hyp/lib/result.hpp"

namespace lamina::hyp {

inline constexpr uint32_t kPsciMaxVcpus = 8;

// Per-vCPU PSCI power state (DEN 0022 "AFFINITY_INFO" return values).
enum class PsciPowerState : uint8_t { kOff, kOnPending, kOn };

// What the host CPU (as seen from the guest: every PE the VM may run on) needs
// for one SMCCC_ARCH_WORKAROUND_n. The EL2 caller fills it from the host
// firmware's own SMCCC_ARCH_FEATURES answers and its errata knowledge.
enum class HostMitigation : uint8_t {
  // Affected, and lamina implements the call (forwarding to the host
  // firmware or applying the mitigation on exception entry).
  kRequired,
  // Not affected, or permanently mitigated: the guest need not call.
  kNotRequired,
  // Affected-and-unmitigated, or unknown: the call is not offered.
  kUnknown,
};

struct HostSecurity {
  HostMitigation workaround_1 = HostMitigation::kUnknown;  // CVE-2017-5715 (Spectre v2)
  HostMitigation workaround_2 = HostMitigation::kUnknown;  // CVE-2018-3639 (Spectre v4, SSB)
  HostMitigation workaround_3 = HostMitigation::kUnknown;  // CVE-2022-23960 (Spectre-BHB)
};

// What the caller must do after writing PsciResult::x0 (where the call returns).
enum class PsciAction : uint8_t {
  kNone,             // write x0, skip the HVC/SMC, resume the caller.
  kStartVcpu,        // start vCPU target_vcpu at entry with x0 = context_id
                     // (and the DEN 0022 "CPU_ON" reset state: EL1h, MMU and
                     // caches off, DAIF masked), then call vcpu_started().
                     // The caller still resumes the calling vCPU with x0.
  kStopVcpu,         // CPU_OFF: the calling vCPU stops (x0 is not returned).
                     // vm_stopped says no vCPU is ON or ON_PENDING any more.
  kSuspend,          // CPU_SUSPEND: write x0 (SUCCESS), skip the instruction,
                     // and treat like WFI: wake on an interrupt.
  kSystemOff,        // SYSTEM_OFF: stop the VM (x0 is not returned).
  kSystemReset,      // SYSTEM_RESET: cold-reset the VM (x0 is not returned).
  kSystemReset2,     // SYSTEM_RESET2: reset the VM per reset_type/cookie.
  kHostWorkaround,   // SMCCC_ARCH_WORKAROUND_n: apply the host mitigation
                     // (workaround_id, workaround_arg: for _2 the enable flag)
                     // unless exception entry already did, then write x0.
};

struct PsciResult {
  int64_t x0 = 0;  // written to x0 as a sign-extended 64-bit value
  PsciAction action = PsciAction::kNone;
  // kStartVcpu
  uint32_t target_vcpu = 0;
  uint64_t entry = 0;       // the guest's entry IPA (truncated for SMC32)
  uint64_t context_id = 0;  // truncated for SMC32
  // kStopVcpu
  bool vm_stopped = false;
  // kSystemReset2 (reset_type bit 31 set = vendor-specific)
  uint32_t reset_type = 0;
  uint64_t cookie = 0;  // truncated for SMC32
  // kSuspend: the validated original-format power_state, for tracing.
  uint32_t power_state = 0;
  // kHostWorkaround
  uint32_t workaround_id = 0;
  uint64_t workaround_arg = 0;
};

class PsciServer {
 public:
  enum class Error : uint8_t {
    kNoVcpus,          // zero MPIDRs
    kTooManyVcpus,     // more than kPsciMaxVcpus
    kBadBootVcpu,      // boot_vcpu >= number of vCPUs
    kBadMpidr,         // bits set outside Aff3..Aff0
    kDuplicateMpidr,   // two vCPUs with the same affinity
  };

  // Builds the server for a VM whose vCPU i has affinity mpidrs[i] (only
  // Aff3 [39:32] and Aff2..Aff0 [23:0] may be set: the MPIDR_EL1 flag bits U
  // and MT are not part of a PSCI target_cpu). vCPU boot_vcpu starts ON, the
  // others OFF. Errors are configuration errors of the hypervisor.
  [[nodiscard]] static Result<PsciServer, Error> create(std::span<const uint64_t> mpidrs, uint32_t boot_vcpu,
                                                        const HostSecurity& host);

  // Handles one HVC/SMC from vCPU vcpu_index (< vcpu_count(), which must be
  // ON: it is running). function_id is x0; only W0 is the ID (DEN 0028 "SMC
  // and HVC Function Identifiers"), bits[63:32] are ignored as Linux's KVM
  // does. x1..x3 are the arguments; for SMC32 IDs each is truncated to 32
  // bits. Never fails: guest errors become PSCI/SMCCC error codes in x0, and
  // any unknown ID gives NOT_SUPPORTED (-1).
  //
  // CPU_ON entry checks done here: 4-byte alignment (INVALID_ADDRESS). The
  // caller may add its own (entry outside guest RAM or not executable): it
  // then calls cancel_start(target) and writes INVALID_ADDRESS to x0 instead.
  //
  // CPU_SUSPEND checks only that the original-format power_state has its
  // reserved bits [31:26] and [23:17] clear (else INVALID_PARAMETERS); every
  // state, standby or powerdown, is served as a standby (WFI) that returns
  // SUCCESS, which DEN 0022 "CPU_SUSPEND" allows as a shallower state.
  [[nodiscard]] PsciResult handle(uint32_t vcpu_index, uint64_t function_id, uint64_t x1, uint64_t x2, uint64_t x3);

  // The calls whose answer depends on no vCPU's state and changes none
  // (PSCI_VERSION, PSCI_FEATURES, MIGRATE_INFO_TYPE, SMCCC_VERSION,
  // SMCCC_ARCH_FEATURES): answered here, without the VM lock, on the exit
  // path's fast lane: the value for x0, or nothing for any other ID, which
  // then goes through handle(). The answers equal handle()'s.
  [[nodiscard]] std::optional<int64_t> answer_stateless(uint64_t function_id, uint64_t x1) const;

  // The caller started vCPU k after kStartVcpu: ON_PENDING -> ON. Returns
  // false (and changes nothing) if k was not ON_PENDING.
  bool vcpu_started(uint32_t k);
  // The caller could not (or would not) start vCPU k: ON_PENDING -> OFF.
  // Returns false (and changes nothing) if k was not ON_PENDING.
  bool cancel_start(uint32_t k);
  // After a system reset: the boot vCPU ON, every other vCPU OFF.
  void reset();

  [[nodiscard]] uint32_t vcpu_count() const { return count_; }
  [[nodiscard]] PsciPowerState state(uint32_t k) const { return state_[k]; }

 // A server for no vCPUs, to be replaced by create()'s (so that a VM can
  // hold one by value before it is configured).
  PsciServer() = default;

 private:

  [[nodiscard]] bool find_vcpu(uint64_t mpidr, uint32_t* index) const;
  [[nodiscard]] int64_t features(uint32_t function_id) const;
  [[nodiscard]] int64_t arch_features(uint32_t function_id) const;
  [[nodiscard]] PsciResult cpu_on(uint64_t target, uint64_t entry, uint64_t context_id);
  [[nodiscard]] PsciResult cpu_off(uint32_t vcpu_index);
  [[nodiscard]] int64_t affinity_info(uint64_t target, uint64_t lowest_level) const;
  [[nodiscard]] PsciResult workaround(uint32_t id, HostMitigation m, uint64_t arg) const;

  std::array<uint64_t, kPsciMaxVcpus> mpidr_{};
  std::array<PsciPowerState, kPsciMaxVcpus> state_{};
  uint32_t count_ = 0;
  uint32_t boot_vcpu_ = 0;
  HostSecurity host_{};
};

}  // namespace lamina::hyp
