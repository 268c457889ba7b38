// Tests for arch/esr: the ESR_EL2 and abort-ISS layouts, every exception
// class against the EC table of DDI 0487 K.a D23.2 "ESR_EL2", and the names
// used by crash reports.
#include "arch/esr.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "unit/arch/regs/layout_check.hpp"

namespace lamina::arch {
namespace {

using test::expect_layout;

TEST(EsrEl2Layout, FieldsMatchTheArmArm) {
  expect_layout<EsrEl2>({{"iss", 24, 0}, {"il", 25, 25}, {"ec", 31, 26}, {"iss2", 55, 32}});
  using Reg = EsrEl2;
  LAMINA_ESR_EL2_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(EsrEl2Layout, DecodesARealSyndrome) {
  // A 32-bit HVC #0 from AArch64 EL1: EC 0x16, IL 1, ISS 0 -> 0x5a000000.
  const auto esr = EsrEl2::from_raw(0x5a00'0000);
  EXPECT_EQ(esr.get(EsrEl2::ec), ExceptionClass::kHvcAarch64);
  EXPECT_TRUE(esr.get(EsrEl2::il));
  EXPECT_EQ(esr.get(EsrEl2::iss), 0u);
  // ISS2 above bit 31 is kept: the register is never narrowed.
  EXPECT_EQ(EsrEl2::from_raw(uint64_t{0xab'cdef} << 32).get(EsrEl2::iss2), 0xab'cdefu);
}

TEST(AbortIssLayout, FieldsMatchTheArmArm) {
  expect_layout<AbortIss>({
      {"fsc", 5, 0},   {"wnr", 6, 6},   {"s1ptw", 7, 7}, {"cm", 8, 8},    {"ea", 9, 9},
      {"fnv", 10, 10}, {"set", 12, 11}, {"vncr", 13, 13}, {"ar", 14, 14}, {"sf", 15, 15},
      {"srt", 20, 16}, {"sse", 21, 21}, {"sas", 23, 22}, {"isv", 24, 24},
  });
  using Reg = AbortIss;
  LAMINA_ABORT_ISS_FIELDS(LAMINA_TEST_CHECK_FIELD)
}

TEST(AbortIssLayout, DecodesAGuestWordStore) {
  // A data abort on `str w1, [x0]` at a stage-2 translation fault, level 3:
  // ISV, SAS = word (0b10), SRT = 1, WnR, DFSC = 0b000111.
  const uint64_t iss = (1u << 24) | (0b10u << 22) | (1u << 16) | (1u << 6) | 0b000111u;
  const auto a = AbortIss::from_raw(iss);
  EXPECT_TRUE(a.get(AbortIss::isv));
  EXPECT_EQ(a.get(AbortIss::sas), 0b10u);
  EXPECT_EQ(a.get(AbortIss::srt), 1u);
  EXPECT_TRUE(a.get(AbortIss::wnr));
  EXPECT_FALSE(a.get(AbortIss::sf));
  EXPECT_EQ(a.get(AbortIss::fsc), 0b000111u);
}

// The EC table, typed in from the spec, one row per enumerator.
struct EcRow {
  ExceptionClass ec;
  uint64_t value;
};
constexpr EcRow kEcTable[] = {
    {ExceptionClass::kUnknown, 0x00},
    {ExceptionClass::kWfxTrap, 0x01},
    {ExceptionClass::kMcrMrcCp15, 0x03},
    {ExceptionClass::kMcrrMrrcCp15, 0x04},
    {ExceptionClass::kMcrMrcCp14, 0x05},
    {ExceptionClass::kLdcStcCp14, 0x06},
    {ExceptionClass::kFpSimdAccessTrap, 0x07},
    {ExceptionClass::kVmrsIdTrap, 0x08},
    {ExceptionClass::kPointerAuthTrap, 0x09},
    {ExceptionClass::kLd64bSt64bTrap, 0x0a},
    {ExceptionClass::kMrrcCp14, 0x0c},
    {ExceptionClass::kBranchTarget, 0x0d},
    {ExceptionClass::kIllegalExecutionState, 0x0e},
    {ExceptionClass::kSvcAarch32, 0x11},
    {ExceptionClass::kHvcAarch32, 0x12},
    {ExceptionClass::kSmcAarch32, 0x13},
    {ExceptionClass::kSvcAarch64, 0x15},
    {ExceptionClass::kHvcAarch64, 0x16},
    {ExceptionClass::kSmcAarch64, 0x17},
    {ExceptionClass::kSysRegTrap, 0x18},
    {ExceptionClass::kSveAccessTrap, 0x19},
    {ExceptionClass::kEretTrap, 0x1a},
    {ExceptionClass::kTstartTrap, 0x1b},
    {ExceptionClass::kPointerAuthFailure, 0x1c},
    {ExceptionClass::kSmeAccessTrap, 0x1d},
    {ExceptionClass::kImplementationDefinedEl3, 0x1f},
    {ExceptionClass::kInstructionAbortLowerEl, 0x20},
    {ExceptionClass::kInstructionAbortSameEl, 0x21},
    {ExceptionClass::kPcAlignmentFault, 0x22},
    {ExceptionClass::kDataAbortLowerEl, 0x24},
    {ExceptionClass::kDataAbortSameEl, 0x25},
    {ExceptionClass::kSpAlignmentFault, 0x26},
    {ExceptionClass::kMemoryOperation, 0x27},
    {ExceptionClass::kFpExceptionAarch32, 0x28},
    {ExceptionClass::kFpExceptionAarch64, 0x2c},
    {ExceptionClass::kSError, 0x2f},
    {ExceptionClass::kBreakpointLowerEl, 0x30},
    {ExceptionClass::kBreakpointSameEl, 0x31},
    {ExceptionClass::kSoftwareStepLowerEl, 0x32},
    {ExceptionClass::kSoftwareStepSameEl, 0x33},
    {ExceptionClass::kWatchpointLowerEl, 0x34},
    {ExceptionClass::kWatchpointSameEl, 0x35},
    {ExceptionClass::kBkptAarch32, 0x38},
    {ExceptionClass::kVectorCatchAarch32, 0x3a},
    {ExceptionClass::kBrkAarch64, 0x3c},
};

TEST(ExceptionClass, EveryEnumeratorHasItsSpecValue) {
  for (const EcRow& row : kEcTable) EXPECT_EQ(static_cast<uint64_t>(row.ec), row.value) << row.value;
}

TEST(ExceptionClass, EveryEnumeratorHasADistinctName) {
  std::set<std::string> names;
  for (const EcRow& row : kEcTable) {
    const char* name = exception_class_name(row.ec);
    ASSERT_NE(name, nullptr);
    EXPECT_GT(std::strlen(name), 0u) << row.value;
    EXPECT_STRNE(name, "reserved EC") << row.value;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
  }
}

TEST(ExceptionClass, UnassignedEncodingsAreReserved) {
  // Every 6-bit value not in the table (0b000010, 0b001011, 0b010000, ...).
  std::set<uint64_t> assigned;
  for (const EcRow& row : kEcTable) assigned.insert(row.value);
  unsigned reserved = 0;
  for (uint64_t v = 0; v < 64; ++v) {
    if (assigned.count(v) != 0) continue;
    ++reserved;
    EXPECT_STREQ(exception_class_name(static_cast<ExceptionClass>(v)), "reserved EC") << v;
  }
  EXPECT_EQ(reserved, 64u - std::size(kEcTable));
  EXPECT_STREQ(exception_class_name(static_cast<ExceptionClass>(0b000010)), "reserved EC");
  // Out of the 6-bit range (only reachable through a cast) is not a crash.
  EXPECT_STREQ(exception_class_name(static_cast<ExceptionClass>(0x40)), "reserved EC");
}

std::string fsc_name(uint64_t fsc) {
  char buf[96];
  return fault_status_name(fsc, buf, sizeof buf);
}

TEST(FaultStatusName, LevelledFaultsNameTheirLevel) {
  for (uint64_t level = 0; level < 4; ++level) {
    const std::string l = std::to_string(level);
    EXPECT_EQ(fsc_name(0b000000 | level), "address size fault, level " + l);
    EXPECT_EQ(fsc_name(0b000100 | level), "translation fault, level " + l);
    EXPECT_EQ(fsc_name(0b001000 | level), "access flag fault, level " + l);
    EXPECT_EQ(fsc_name(0b001100 | level), "permission fault, level " + l);
    EXPECT_EQ(fsc_name(0b010100 | level), "synchronous external abort on table walk, level " + l);
  }
}

TEST(FaultStatusName, UnlevelledFaults) {
  EXPECT_EQ(fsc_name(0b010000), "synchronous external abort");
  EXPECT_EQ(fsc_name(0b010001), "synchronous tag check fault");
  EXPECT_EQ(fsc_name(0b011000), "synchronous parity/ECC error");
  EXPECT_EQ(fsc_name(0b100001), "alignment fault");
  EXPECT_EQ(fsc_name(0b110000), "TLB conflict abort");
  EXPECT_EQ(fsc_name(0b110001), "unsupported atomic hardware update fault");
}

TEST(FaultStatusName, ParityErrorOnTableWalkNamesItsLevel) {
  // 0b0111LL: synchronous parity or ECC error on a translation table walk
  // (architected when FEAT_RAS is not implemented), not a reserved code.
  for (uint64_t level = 0; level < 4; ++level)
    EXPECT_EQ(fsc_name(0b011100 | level),
              "synchronous parity/ECC error on table walk, level " + std::to_string(level));
}

TEST(FaultStatusName, ReservedCodes) {
  for (uint64_t fsc : {0b010010u, 0b100000u, 0b100101u, 0b110010u, 0b111000u, 0b111111u})
    EXPECT_EQ(fsc_name(fsc), "reserved fault status") << fsc;
}

TEST(FaultStatusName, SmallBuffersAreTruncatedAndTerminated) {
  // Guard bytes around the buffer catch any write past buf_size (ASan would
  // too, but only for the heap/stack object as a whole).
  for (unsigned size = 1; size <= 32; ++size) {
    char storage[48];
    std::memset(storage, '#', sizeof storage);
    char* buf = storage + 8;
    const char* name = fault_status_name(0b000111, buf, size);
    EXPECT_EQ(name, buf);
    const size_t len = std::strlen(buf);
    EXPECT_LT(len, size) << size;
    EXPECT_EQ(std::string_view(buf, len), std::string_view("translation fault, level 3").substr(0, len));
    for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(storage[i], '#') << "before, size " << size;
    for (size_t i = 8 + size; i < sizeof storage; ++i) EXPECT_EQ(storage[i], '#') << "after, size " << size;
  }
  char exact[sizeof "translation fault, level 3"];
  EXPECT_STREQ(fault_status_name(0b000111, exact, sizeof exact), "translation fault, level 3");
  // Codes with a static name never touch the buffer.
  char untouched[4] = {'x', 'x', 'x', 'x'};
  EXPECT_STREQ(fault_status_name(0b100001, untouched, sizeof untouched), "alignment fault");
  EXPECT_EQ(untouched[0], 'x');
}

TEST(FaultStatusName, ZeroSizedOrNullBufferIsNeverWritten) {
  char guard = '#';
  const char* name = fault_status_name(0b000101, &guard, 0);
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(guard, '#');
  EXPECT_GT(std::strlen(name), 0u);
  name = fault_status_name(0b000101, nullptr, 16);
  ASSERT_NE(name, nullptr);
  EXPECT_GT(std::strlen(name), 0u);
}

}  // namespace
}  // namespace lamina::arch
