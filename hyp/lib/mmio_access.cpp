#include "hyp/lib/mmio_access.hpp"

namespace lamina {

namespace {

// Mask of the low `bytes` bytes; 8 (or anything larger) gives all ones.
[[nodiscard]] constexpr uint64_t width_mask(uint8_t bytes) {
  return bytes >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8u * bytes)) - 1;
}

}  // namespace

Result<MmioAccess, MmioDecodeError> decode_mmio_access(const arch::DataAbort& iss,
                                                       mm::IntermediatePhysAddr ipa) {
  if (!iss.isv()) return Err{MmioDecodeError::kNoSyndrome};
  if (iss.s1ptw()) return Err{MmioDecodeError::kStage1TableWalk};
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

uint64_t mmio_load_result(const MmioAccess& access, uint64_t device_value) {
  const uint64_t mask = width_mask(access.width_bytes);
  uint64_t value = device_value & mask;
  // Sign extension is meaningful only below 64 bits; (mask >> 1) + 1 is the
  // sign bit of the access width.
  if (access.sign_extend && mask != ~uint64_t{0} && (value & ((mask >> 1) + 1)) != 0) value |= ~mask;
  if (!access.sixty_four_bit_reg) value &= 0xffff'ffffu;
  return value;
}

uint64_t mmio_store_value(const MmioAccess& access, uint64_t reg_value) {
  if (access.reg == kZeroRegister) return 0;
  return reg_value & width_mask(access.width_bytes);
}

}  // namespace lamina
