// PsciServer: see psci_server.hpp for the contract and the sources.
#include "hyp/lib/psci_server.hpp"

#include "hyp/lib/psci_abi.hpp"

namespace lamina::hyp {
namespace {

constexpr int64_t status(psci::Status s) { return static_cast<int64_t>(s); }

// PSCI target_cpu/target_affinity: Aff3 in bits[39:32], Aff2..Aff0 in
// bits[23:0], every other bit must be zero (DEN 0022 "CPU_ON", target_cpu).
constexpr uint64_t kAffinityMask = 0xff'00ff'ffffULL;

// Original power_state format: bits[31:26] and [23:17] are reserved (DEN 0022
// "CPU_SUSPEND", "power_state parameter bit fields, original format").
constexpr uint32_t kPowerStateReservedMask = 0xfc00'0000u | 0x00fe'0000u;

constexpr uint64_t low32(uint64_t v) { return v & 0xffff'ffffULL; }

}  // namespace

Result<PsciServer, PsciServer::Error> PsciServer::create(std::span<const uint64_t> mpidrs, uint32_t boot_vcpu,
                                                         const HostSecurity& host) {
  if (mpidrs.empty()) return Err{Error::kNoVcpus};
  if (mpidrs.size() > kPsciMaxVcpus) return Err{Error::kTooManyVcpus};
  if (boot_vcpu >= mpidrs.size()) return Err{Error::kBadBootVcpu};
  PsciServer server;
  server.count_ = static_cast<uint32_t>(mpidrs.size());
  for (uint32_t i = 0; i < server.count_; ++i) {
    if ((mpidrs[i] & ~kAffinityMask) != 0) return Err{Error::kBadMpidr};
    for (uint32_t j = 0; j < i; ++j)
      if (mpidrs[j] == mpidrs[i]) return Err{Error::kDuplicateMpidr};
    server.mpidr_[i] = mpidrs[i];
  }
  server.boot_vcpu_ = boot_vcpu;
  server.host_ = host;
  server.reset();
  return server;
}

void PsciServer::reset() {
  for (uint32_t i = 0; i < count_; ++i) state_[i] = i == boot_vcpu_ ? PsciPowerState::kOn : PsciPowerState::kOff;
}

bool PsciServer::vcpu_started(uint32_t k) {
  if (k >= count_ || state_[k] != PsciPowerState::kOnPending) return false;
  state_[k] = PsciPowerState::kOn;
  return true;
}

bool PsciServer::cancel_start(uint32_t k) {
  if (k >= count_ || state_[k] != PsciPowerState::kOnPending) return false;
  state_[k] = PsciPowerState::kOff;
  return true;
}

bool PsciServer::find_vcpu(uint64_t mpidr, uint32_t* index) const {
  if ((mpidr & ~kAffinityMask) != 0) return false;
  for (uint32_t i = 0; i < count_; ++i) {
    if (mpidr_[i] == mpidr) {
      *index = i;
      return true;
    }
  }
  return false;
}

std::optional<int64_t> PsciServer::answer_stateless(uint64_t function_id, uint64_t x1) const {
  switch (static_cast<uint32_t>(low32(function_id))) {
    case psci::kVersion: return psci::kVersion1_1;
    case psci::kFeatures: return features(static_cast<uint32_t>(x1));
    case psci::kMigrateInfoType: return psci::kMigrateInfoTypeNotPresent;
    case smccc::kVersion: return smccc::kVersion1_1;
    case smccc::kArchFeatures: return arch_features(static_cast<uint32_t>(x1));
    default: return std::nullopt;
  }
}

PsciResult PsciServer::handle(uint32_t vcpu_index, uint64_t function_id, uint64_t x1, uint64_t x2, uint64_t x3) {
  // Only W0 carries the function ID (DEN 0028 "SMC and HVC Function
  // Identifiers"); Linux's KVM likewise reads it as a u32.
  const auto fid = static_cast<uint32_t>(low32(function_id));
  // SMC32/HVC32 arguments live in W1..W3; the upper halves are not defined.
  if (!psci::is_smc64(fid)) {
    x1 = low32(x1);
    x2 = low32(x2);
    x3 = low32(x3);
  }
  PsciResult r;
  switch (fid) {
    case psci::kVersion: r.x0 = psci::kVersion1_1; return r;
    case psci::kFeatures: r.x0 = features(static_cast<uint32_t>(x1)); return r;

    case psci::kCpuSuspend32:
    case psci::kCpuSuspend64: {
      // x2 (entry) and x3 (context_id) only matter for a powerdown state that
      // is really entered; served as standby, the call returns instead.
      const auto power_state = static_cast<uint32_t>(low32(x1));
      if ((power_state & kPowerStateReservedMask) != 0) {
        r.x0 = status(psci::Status::kInvalidParameters);
        return r;
      }
      r.x0 = status(psci::Status::kSuccess);
      r.action = PsciAction::kSuspend;
      r.power_state = power_state;
      return r;
    }

    case psci::kCpuOff: return cpu_off(vcpu_index);

    case psci::kCpuOn32:
    case psci::kCpuOn64: return cpu_on(x1, x2, x3);

    case psci::kAffinityInfo32:
    case psci::kAffinityInfo64: r.x0 = affinity_info(x1, low32(x2)); return r;

    case psci::kMigrateInfoType: r.x0 = psci::kMigrateInfoTypeNotPresent; return r;

    case psci::kSystemOff: r.action = PsciAction::kSystemOff; return r;
    case psci::kSystemReset: r.action = PsciAction::kSystemReset; return r;

    case psci::kSystemReset2_32:
    case psci::kSystemReset2_64: {
      // reset_type is a uint32 in both conventions (DEN 0022 "SYSTEM_RESET2").
      const auto reset_type = static_cast<uint32_t>(low32(x1));
      if ((reset_type & psci::kResetTypeVendorBit) == 0 && reset_type != psci::kResetTypeWarm) {
        r.x0 = status(psci::Status::kInvalidParameters);
        return r;
      }
      r.action = PsciAction::kSystemReset2;
      r.reset_type = reset_type;
      r.cookie = x2;
      return r;
    }

    case smccc::kVersion: r.x0 = smccc::kVersion1_1; return r;
    case smccc::kArchFeatures: r.x0 = arch_features(static_cast<uint32_t>(x1)); return r;
    case smccc::kArchWorkaround1: return workaround(fid, host_.workaround_1, 0);
    case smccc::kArchWorkaround2: return workaround(fid, host_.workaround_2, x1);
    case smccc::kArchWorkaround3: return workaround(fid, host_.workaround_3, 0);

    default:
      // Includes MIGRATE and MIGRATE_INFO_UP_CPU: with MIGRATE_INFO_TYPE = 2
      // there is no Trusted OS to migrate (DEN 0022 "MIGRATE").
      r.x0 = smccc::kNotSupported;
      return r;
  }
}

int64_t PsciServer::features(uint32_t function_id) const {
  switch (function_id) {
    case psci::kCpuSuspend32:
    case psci::kCpuSuspend64:
      // Original power_state format, no OS-initiated mode (DEN 0022
      // "PSCI_FEATURES", CPU_SUSPEND feature flags).
      return 0;
    case psci::kVersion:
    case psci::kCpuOff:
    case psci::kCpuOn32:
    case psci::kCpuOn64:
    case psci::kAffinityInfo32:
    case psci::kAffinityInfo64:
    case psci::kMigrateInfoType:
    case psci::kSystemOff:
    case psci::kSystemReset:
    case psci::kFeatures:
    case psci::kSystemReset2_32:
    case psci::kSystemReset2_64:
    // SMCCC 1.1 is discovered through PSCI_FEATURES(SMCCC_VERSION) (DEN 0028
    // "SMCCC_VERSION", discovery; Linux's psci_init_smccc does exactly this).
    case smccc::kVersion: return status(psci::Status::kSuccess);
    default: return status(psci::Status::kNotSupported);
  }
}

// SMCCC_ARCH_FEATURES answers (DEN 0028 "SMCCC_ARCH_FEATURES" and the
// discovery paragraphs of "SMCCC_ARCH_WORKAROUND_1/2/3"; the same mapping as
// Linux's arch/arm64/kvm/hypercalls.c, kvm_smccc_call_handler):
//   WORKAROUND_1, _3: 0 implemented and needed, 1 not needed on this PE,
//                     NOT_SUPPORTED (-1) not implemented (affected or unknown).
//   WORKAROUND_2:     0 dynamic mitigation implemented and needed,
//                     NOT_REQUIRED (-2) unaffected or permanently mitigated
//                     (do not call), NOT_SUPPORTED (-1) not implemented.
int64_t PsciServer::arch_features(uint32_t function_id) const {
  const auto answer = [](HostMitigation m, int64_t not_required) -> int64_t {
    switch (m) {
      case HostMitigation::kRequired: return smccc::kSuccess;
      case HostMitigation::kNotRequired: return not_required;
      case HostMitigation::kUnknown: return smccc::kNotSupported;
    }
    return smccc::kNotSupported;
  };
  switch (function_id) {
    case smccc::kVersion:
    case smccc::kArchFeatures: return smccc::kSuccess;
    case smccc::kArchWorkaround1: return answer(host_.workaround_1, smccc::kWorkaroundNotRequiredOnThisPe);
    case smccc::kArchWorkaround2: return answer(host_.workaround_2, smccc::kNotRequired);
    case smccc::kArchWorkaround3: return answer(host_.workaround_3, smccc::kWorkaroundNotRequiredOnThisPe);
    default: return smccc::kNotSupported;
  }
}

PsciResult PsciServer::workaround(uint32_t id, HostMitigation m, uint64_t arg) const {
  PsciResult r;
  switch (m) {
    case HostMitigation::kRequired:
      r.action = PsciAction::kHostWorkaround;
      r.workaround_id = id;
      r.workaround_arg = arg;
      return r;
    case HostMitigation::kNotRequired:
      // Advertised as not needed: the call is harmless and has no effect.
      return r;
    case HostMitigation::kUnknown: break;
  }
  r.x0 = smccc::kNotSupported;
  return r;
}

PsciResult PsciServer::cpu_on(uint64_t target, uint64_t entry, uint64_t context_id) {
  PsciResult r;
  uint32_t k = 0;
  if (!find_vcpu(target, &k)) {
    r.x0 = status(psci::Status::kInvalidParameters);
    return r;
  }
  switch (state_[k]) {
    case PsciPowerState::kOn: r.x0 = status(psci::Status::kAlreadyOn); return r;
    case PsciPowerState::kOnPending: r.x0 = status(psci::Status::kOnPending); return r;
    case PsciPowerState::kOff: break;
  }
  // AArch64 instructions are 4-byte aligned; an AArch32 entry (bit 0 set
  // for T32) is not supported since lamina's guests are AArch64 only.
  if ((entry & 3) != 0) {
    r.x0 = status(psci::Status::kInvalidAddress);
    return r;
  }
  state_[k] = PsciPowerState::kOnPending;
  r.x0 = status(psci::Status::kSuccess);
  r.action = PsciAction::kStartVcpu;
  r.target_vcpu = k;
  r.entry = entry;
  r.context_id = context_id;
  return r;
}

PsciResult PsciServer::cpu_off(uint32_t vcpu_index) {
  PsciResult r;
  if (vcpu_index < count_) state_[vcpu_index] = PsciPowerState::kOff;
  bool any_alive = false;
  for (uint32_t i = 0; i < count_; ++i) any_alive = any_alive || state_[i] != PsciPowerState::kOff;
  r.action = PsciAction::kStopVcpu;
  r.vm_stopped = !any_alive;
  return r;
}

int64_t PsciServer::affinity_info(uint64_t target, uint64_t lowest_level) const {
  // Only level 0 (a single PE) is modelled; DEN 0022 "AFFINITY_INFO" makes
  // higher levels optional from PSCI 1.0 on.
  if (lowest_level != 0) return status(psci::Status::kInvalidParameters);
  uint32_t k = 0;
  if (!find_vcpu(target, &k)) return status(psci::Status::kInvalidParameters);
  switch (state_[k]) {
    case PsciPowerState::kOn: return psci::kAffinityOn;
    case PsciPowerState::kOff: return psci::kAffinityOff;
    case PsciPowerState::kOnPending: return psci::kAffinityOnPending;
  }
  return status(psci::Status::kInvalidParameters);
}

}  // namespace lamina::hyp
