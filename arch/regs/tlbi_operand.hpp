// The register operand of the stage-2 TLBI-by-IPA instructions (TLBI
// IPAS2E1IS, IPAS2LE1IS and their variants). DDI 0487 K.a C5.5 "A64 System
// instructions for TLB maintenance", "TLBI IPAS2E1IS, TLBI IPAS2E1ISNXS".
//
// IPA holds IPA[51:12] (IPA[47:12] without FEAT_LPA, bits [39:36] RES0).
// TTL (FEAT_TTL) is a hint of the level of the entry being invalidated;
// 0b0000 means "no information", always correct, and is what lamina uses:
// on a CPU without FEAT_TTL the field is RES0 and must not be set.
// NS (bit 63, Secure state only) is not modelled: lamina runs Non-secure.
#pragma once

#include <cstdint>

#include "arch/regs/register.hpp"

namespace lamina::arch {

#define LAMINA_TLBI_IPA_OPERAND_FIELDS(X) \
  X(ipa, 39, 0, uint64_t)                 \
  X(ttl, 47, 44, uint64_t)

struct TlbiIpaOperand : RegisterValue<TlbiIpaOperand> {
  LAMINA_REGISTER_BODY(TlbiIpaOperand, "TLBI IPAS2E1IS operand", bit_mask(43, 40) | bit_mask(62, 48), 0,
                       LAMINA_TLBI_IPA_OPERAND_FIELDS)

  // The operand naming the 4 KiB page that holds `ipa` (bits [11:0] are
  // dropped; bits above 51 do not exist in an IPA and are dropped too), with
  // no level hint.
  [[nodiscard]] static constexpr TlbiIpaOperand for_ipa(uint64_t ipa_value) {
    return from_scratch().with(ipa, (ipa_value >> 12) & decltype(ipa)::kMask);
  }
};

}  // namespace lamina::arch
