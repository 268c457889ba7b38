// The architecture-neutral MMIO access a device model sees.
//
// A stage-2 data abort on an emulated device region is decoded here, once,
// from the typed DataAbort view into an MmioAccess; device models never see
// ESR bits. The load/store helpers below implement the register-file side of
// the access (width masking, sign extension, W-register zeroing, XZR) so that
// the trap handler only moves values.
#pragma once

#include <cstdint>

#include "arch/esr.hpp"

#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"

namespace lamina {

inline constexpr uint8_t kZeroRegister = 31;  // XZR/WZR in a transfer-register field

struct MmioAccess {
  mm::IntermediatePhysAddr ipa;
  uint8_t width_bytes = 0;  // 1, 2, 4 or 8
  bool is_write = false;
  uint8_t reg = 0;                  // 0-30; 31 = XZR/WZR
  bool sign_extend = false;         // loads only
  bool sixty_four_bit_reg = false;  // Xt (true) or Wt (false)
  bool acquire_release = false;
};

enum class MmioDecodeError : uint8_t {
  // ISV is 0: the instruction (e.g. a load/store pair, writeback, or SIMD
  // access) cannot be emulated from the syndrome. The caller injects an
  // abort into the guest; never a panic.
  kNoSyndrome,
  // S1PTW is 1: the guest's stage-1 table walk, not an instruction, touched
  // the region. Not an MMIO access; the caller injects an abort.
  kStage1TableWalk,
};

// Mask of the low `bytes` bytes; 8 (or anything larger) gives all ones.
[[nodiscard]] constexpr uint64_t mmio_width_mask(unsigned bytes) {
  return bytes >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8u * bytes)) - 1;
}

// Decodes a guest data abort at `ipa` (from mm::faulting_ipa) into an
// MmioAccess. Errors: kNoSyndrome when !iss.isv(), kStage1TableWalk when
// iss.s1ptw(). Pure. (Inline, like the two below: every emulated access
// runs them.)
[[nodiscard]] inline MmioAccess mmio_access_from_syndrome(const arch::DataAbort& iss, mm::IntermediatePhysAddr ipa);

[[nodiscard]] inline Result<MmioAccess, MmioDecodeError> decode_mmio_access(const arch::DataAbort& iss,
                                                                            mm::IntermediatePhysAddr ipa) {
  if (!iss.isv()) return Err{MmioDecodeError::kNoSyndrome};
  if (iss.s1ptw()) return Err{MmioDecodeError::kStage1TableWalk};
  return mmio_access_from_syndrome(iss, ipa);
}

// decode_mmio_access without the checks, for a caller that has made them
// (ISV set, S1PTW clear): no Result for the compiler to see through on an
// exit path. Pure.
[[nodiscard]] inline MmioAccess mmio_access_from_syndrome(const arch::DataAbort& iss, mm::IntermediatePhysAddr ipa) {
  MmioAccess access;
  access.ipa = ipa;
  access.width_bytes = iss.access_bytes();
  access.is_write = iss.is_write();
  access.reg = iss.register_index();
  access.sign_extend = iss.sign_extend();
  access.sixty_four_bit_reg = iss.is_64bit_register();
  access.acquire_release = iss.acquire_release();
  return access;
}

// The value to write back to register `access.reg` after an emulated load
// that returned `device_value`: the low width_bytes of it, sign-extended if
// access.sign_extend, then zero-extended above bit 31 for a W register (an
// AArch64 write to Wn zeroes Xn[63:32], DDI 0487 K.a C1.2.5 "Registers in
// AArch64 state"). When access.reg is 31 the caller discards the result
// (a load to XZR/WZR). Pure.
[[nodiscard]] inline uint64_t mmio_load_result(const MmioAccess& access, uint64_t device_value) {
  const uint64_t mask = mmio_width_mask(access.width_bytes);
  uint64_t value = device_value & mask;
  // Sign extension is meaningful only below 64 bits; (mask >> 1) + 1 is the
  // sign bit of the access width.
  if (access.sign_extend && mask != ~uint64_t{0} && (value & ((mask >> 1) + 1)) != 0) value |= ~mask;
  if (!access.sixty_four_bit_reg) value &= 0xffff'ffffu;
  return value;
}

// The value an emulated store writes to the device: `reg_value` (the content
// of X[access.reg]) masked to width_bytes, or 0 when access.reg is 31 (XZR/WZR
// reads as zero). Pure.
[[nodiscard]] inline uint64_t mmio_store_value(const MmioAccess& access, uint64_t reg_value) {
  if (access.reg == kZeroRegister) return 0;
  return reg_value & mmio_width_mask(access.width_bytes);
}

}  // namespace lamina
