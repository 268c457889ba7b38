// Shared helpers for the vGIC tests: configurations, and a vCPU's list
// registers as the hardware holds them, with the guest-side operations the
// GIC virtual CPU interface performs on them (IHI 0069 "Virtual CPU
// interface": acknowledge moves the highest-priority pending list register
// to active; EOI with EOImode 0 deactivates it).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "hyp/vgic/list_registers.hpp"
#include "hyp/vgic/vgic_state.hpp"

namespace lamina::hyp::vgic::test {

inline constexpr uint32_t kSpurious = 1023;

// Four vCPUs in two clusters: MPIDR affinities 0.0.0.0, 0.0.0.1, 0.0.1.0 and
// 1.0.0.2 (Aff3 = 1), so that Aff1 and Aff3 matching is exercised.
inline constexpr std::array<uint64_t, 4> kMpidrs = {0x0, 0x1, 0x100, 0x1'0000'0002};

inline VgicConfig v3_config(uint32_t vcpus = 4, uint32_t spis = 64) {
  VgicConfig c;
  c.model = GicModel::kV3;
  c.vcpu_count = vcpus;
  for (uint32_t i = 0; i < vcpus && i < kMpidrs.size(); ++i) c.mpidr[i] = kMpidrs[i];
  c.spi_count = spis;
  return c;
}

inline VgicConfig v2_config(uint32_t vcpus = 4, uint32_t spis = 64) {
  VgicConfig c;
  c.model = GicModel::kV2;
  c.vcpu_count = vcpus;
  c.spi_count = spis;
  return c;
}

// VgicState is ~35 KiB: tests keep it on the heap.
inline std::unique_ptr<VgicState> make_state(const VgicConfig& c) {
  auto s = std::make_unique<VgicState>();
  EXPECT_TRUE(s->init(c).ok());
  return s;
}

// One vCPU's list registers in ICH_LR<n>_EL2 encoding, loaded and folded
// the way EL2 does it (hyp/vgic/list_registers.hpp).
class ListRegisters {
 public:
  explicit ListRegisters(uint32_t count = 4) : count_(count) {}

  LoadResult enter(VgicState& s, uint32_t vcpu) {
    std::array<Virq, kMaxListRegisters> v{};
    const LoadResult r = s.load_list_registers(vcpu, std::span(v.data(), count_));
    for (uint32_t i = 0; i < count_; ++i) lr_[i] = i < r.loaded ? encode_ich_lr(v[i]) : 0;
    used_ = r.loaded;
    uie_ = wants_underflow_interrupt(r);
    return r;
  }

  void exit(VgicState& s, uint32_t vcpu) {
    std::array<VirqState, kMaxListRegisters> st{};
    for (uint32_t i = 0; i < used_; ++i) st[i] = ich_lr_state(lr_[i]);
    s.fold_list_registers(vcpu, std::span<const VirqState>(st.data(), used_));
    lr_ = {};
    used_ = 0;
  }

  // ICC_IAR1_EL1 as the virtual CPU interface answers it: the pending list
  // register of highest priority (lowest value; the lower list register on a
  // tie) becomes active; its vINTID, or 1023.
  uint32_t ack() {
    int best = -1;
    for (uint32_t i = 0; i < count_; ++i) {
      const Virq v = decode_ich_lr(lr_[i]);
      if (v.state != VirqState::kPending) continue;
      if (best < 0 || v.priority < decode_ich_lr(lr_[static_cast<uint32_t>(best)]).priority)
        best = static_cast<int>(i);
    }
    if (best < 0) return kSpurious;
    Virq v = decode_ich_lr(lr_[static_cast<uint32_t>(best)]);
    v.state = VirqState::kActive;
    lr_[static_cast<uint32_t>(best)] = encode_ich_lr(v);
    return v.intid;
  }

  // ICC_EOIR1_EL1 with EOImode 0: the active list register holding `intid`
  // is deactivated (P+A becomes P). False if none holds it.
  bool eoi(uint32_t intid) {
    for (uint32_t i = 0; i < count_; ++i) {
      Virq v = decode_ich_lr(lr_[i]);
      if (v.intid != intid || !is_active(v.state)) continue;
      v.state = is_pending(v.state) ? VirqState::kPending : VirqState::kInvalid;
      lr_[i] = encode_ich_lr(v);
      return true;
    }
    return false;
  }

  // How many list registers hold a valid (non-invalid) interrupt: the UIE
  // condition is valid() <= 1 (IHI 0069 "ICH_HCR_EL2", UIE).
  [[nodiscard]] uint32_t valid() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < count_; ++i) n += ich_lr_state(lr_[i]) != VirqState::kInvalid ? 1 : 0;
    return n;
  }
  [[nodiscard]] bool underflow_asserted() const { return uie_ && valid() <= 1; }
  [[nodiscard]] Virq at(uint32_t i) const { return decode_ich_lr(lr_[i]); }
  [[nodiscard]] uint32_t used() const { return used_; }

 private:
  uint32_t count_;
  uint32_t used_ = 0;
  bool uie_ = false;
  std::array<uint64_t, kMaxListRegisters> lr_{};
};

}  // namespace lamina::hyp::vgic::test
