// Tests for hyp/lib/psci_server: the PSCI 1.1 / SMCCC 1.1 server state machine.
#include "hyp/lib/psci_server.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "hyp/lib/psci_abi.hpp"

namespace lamina::hyp {
namespace {

using psci::Status;

constexpr int64_t st(Status s) { return static_cast<int64_t>(s); }

// Four vCPUs over two clusters and an Aff3 value, so truncation and affinity
// matching are exercised. vCPU 0 boots.
constexpr std::array<uint64_t, 4> kMpidrs = {0x0, 0x1, 0x100, 0x1'0000'0000ULL};

PsciServer make(HostSecurity host = {}, uint32_t boot = 0) {
  auto r = PsciServer::create(kMpidrs, boot, host);
  EXPECT_TRUE(r.ok());
  return r.value();
}

TEST(PsciServer, CreateRejectsBadConfigurations) {
  const std::array<uint64_t, 9> nine = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::array<uint64_t, 2> dup = {1, 1};
  const std::array<uint64_t, 2> flags = {0, 0x8000'0000ULL};  // MPIDR_EL1.U-style bit
  EXPECT_EQ(PsciServer::create({}, 0, {}).error(), PsciServer::Error::kNoVcpus);
  EXPECT_EQ(PsciServer::create(nine, 0, {}).error(), PsciServer::Error::kTooManyVcpus);
  EXPECT_EQ(PsciServer::create(kMpidrs, 4, {}).error(), PsciServer::Error::kBadBootVcpu);
  EXPECT_EQ(PsciServer::create(dup, 0, {}).error(), PsciServer::Error::kDuplicateMpidr);
  EXPECT_EQ(PsciServer::create(flags, 0, {}).error(), PsciServer::Error::kBadMpidr);
  const std::array<uint64_t, 8> eight = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_TRUE(PsciServer::create(eight, 7, {}).ok());
}

TEST(PsciServer, InitialStates) {
  PsciServer s = make({}, 2);
  EXPECT_EQ(s.vcpu_count(), 4u);
  for (uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(s.state(i), i == 2 ? PsciPowerState::kOn : PsciPowerState::kOff) << i;
}

TEST(PsciServer, Versions) {
  PsciServer s = make();
  EXPECT_EQ(s.handle(0, psci::kVersion, 0, 0, 0).x0, 0x10001);
  EXPECT_EQ(s.handle(0, smccc::kVersion, 0, 0, 0).x0, 0x10001);
  // Only W0 is the function ID.
  EXPECT_EQ(s.handle(0, 0xdead'beef'0000'0000ULL | psci::kVersion, 0, 0, 0).x0, 0x10001);
}

// The lock-free lane answers exactly the stateless calls, exactly as
// handle() does, for every argument it looks at; everything else is left to
// handle().
TEST(PsciServer, StatelessAnswersMatchHandle) {
  HostSecurity host;
  host.workaround_1 = HostMitigation::kRequired;
  host.workaround_2 = HostMitigation::kNotRequired;
  PsciServer s = make(host);
  const uint32_t stateless[] = {psci::kVersion, psci::kFeatures, psci::kMigrateInfoType, smccc::kVersion,
                                smccc::kArchFeatures};
  const uint64_t args[] = {0,
                           psci::kCpuOn64,
                           psci::kSystemReset2_64,
                           smccc::kArchWorkaround1,
                           smccc::kArchWorkaround2,
                           smccc::kArchWorkaround3,
                           0x1234'5678,
                           0xffff'ffff'8400'0000ULL};
  for (uint32_t fid : stateless) {
    for (uint64_t x1 : args) {
      const auto x0 = s.answer_stateless(fid, x1);
      ASSERT_TRUE(x0.has_value()) << std::hex << fid;
      EXPECT_EQ(*x0, s.handle(0, fid, x1, 0, 0).x0) << std::hex << fid << " " << x1;
      // Only W0 is the function ID.
      EXPECT_EQ(s.answer_stateless(0xabcd'0000'0000'0000ULL | fid, x1), x0);
    }
  }
  const uint32_t stateful[] = {psci::kCpuOn64,      psci::kCpuOn32,   psci::kCpuOff,       psci::kCpuSuspend64,
                               psci::kAffinityInfo64, psci::kSystemOff, psci::kSystemReset, psci::kSystemReset2_64,
                               smccc::kArchWorkaround1, 0x8600'0000,  0xc400'0000};
  for (uint32_t fid : stateful) {
    EXPECT_FALSE(s.answer_stateless(fid, 0).has_value()) << std::hex << fid;
  }
}

TEST(PsciServer, FeaturesForEveryFunction) {
  const struct {
    uint32_t fid;
    int64_t expected;
  } rows[] = {
      {psci::kVersion, 0},
      {psci::kCpuSuspend32, 0},  // flags: original format, no OSI
      {psci::kCpuSuspend64, 0},
      {psci::kCpuOff, 0},
      {psci::kCpuOn32, 0},
      {psci::kCpuOn64, 0},
      {psci::kAffinityInfo32, 0},
      {psci::kAffinityInfo64, 0},
      {psci::kMigrate32, -1},
      {psci::kMigrate64, -1},
      {psci::kMigrateInfoType, 0},
      {psci::kMigrateInfoUpCpu32, -1},
      {psci::kMigrateInfoUpCpu64, -1},
      {psci::kSystemOff, 0},
      {psci::kSystemReset, 0},
      {psci::kFeatures, 0},
      {psci::kCpuFreeze, -1},
      {psci::kCpuDefaultSuspend32, -1},
      {psci::kCpuDefaultSuspend64, -1},
      {psci::kNodeHwState32, -1},
      {psci::kNodeHwState64, -1},
      {psci::kSystemSuspend32, -1},
      {psci::kSystemSuspend64, -1},
      {psci::kSetSuspendMode, -1},
      {psci::kStatResidency32, -1},
      {psci::kStatResidency64, -1},
      {psci::kStatCount32, -1},
      {psci::kStatCount64, -1},
      {psci::kSystemReset2_32, 0},
      {psci::kSystemReset2_64, 0},
      {psci::kMemProtect, -1},
      {psci::kMemProtectCheckRange32, -1},
      {psci::kMemProtectCheckRange64, -1},
      {smccc::kVersion, 0},  // SMCCC 1.1 discovery goes through PSCI_FEATURES
      {smccc::kArchFeatures, -1},
      {smccc::kArchWorkaround1, -1},
      {0x84000015, -1},  // SYSTEM_OFF2 (PSCI 1.3), not offered
      {0xc4000002, -1},  // no SMC64 CPU_OFF
      {0x12345678, -1},
  };
  PsciServer s = make();
  for (const auto& row : rows) {
    EXPECT_EQ(s.handle(0, psci::kFeatures, row.fid, 0, 0).x0, row.expected) << std::hex << row.fid;
    // SMC32 call: the argument is truncated to W1.
    EXPECT_EQ(s.handle(0, psci::kFeatures, 0xffff'ffff'0000'0000ULL | row.fid, 0, 0).x0, row.expected)
        << std::hex << row.fid;
  }
}

TEST(PsciServer, CpuOnEverySecondaryPassesEntryAndContext) {
  for (uint32_t fid : {psci::kCpuOn32, psci::kCpuOn64}) {
    PsciServer s = make();
    for (uint32_t k = 1; k < 4; ++k) {
      if (fid == psci::kCpuOn32 && kMpidrs[k] > 0xffff'ffffULL) continue;  // Aff3 needs SMC64
      const uint64_t entry = 0x4008'0000ULL + k * 0x1000;
      const uint64_t ctx = 0xc0de'0000ULL + k;
      const PsciResult r = s.handle(0, fid, kMpidrs[k], entry, ctx);
      EXPECT_EQ(r.x0, st(Status::kSuccess)) << k;
      EXPECT_EQ(r.action, PsciAction::kStartVcpu);
      EXPECT_EQ(r.target_vcpu, k);
      EXPECT_EQ(r.entry, entry);
      EXPECT_EQ(r.context_id, ctx);
      EXPECT_EQ(s.state(k), PsciPowerState::kOnPending);
      EXPECT_TRUE(s.vcpu_started(k));
      EXPECT_EQ(s.state(k), PsciPowerState::kOn);
      EXPECT_FALSE(s.vcpu_started(k));
    }
  }
}

TEST(PsciServer, CpuOnSmc64PassesFullWidthArguments) {
  PsciServer s = make();
  const PsciResult r = s.handle(0, psci::kCpuOn64, 0x1'0000'0000ULL, 0x8'0000'1000ULL, 0xffff'0000'0000'0001ULL);
  EXPECT_EQ(r.action, PsciAction::kStartVcpu);
  EXPECT_EQ(r.target_vcpu, 3u);
  EXPECT_EQ(r.entry, 0x8'0000'1000ULL);
  EXPECT_EQ(r.context_id, 0xffff'0000'0000'0001ULL);
}

TEST(PsciServer, CpuOnSmc32TruncatesArguments) {
  PsciServer s = make();
  // target 0x1'0000'0001 truncates to 0x1 (vCPU 1), not vCPU 3's Aff3.
  const PsciResult r = s.handle(0, psci::kCpuOn32, 0x1'0000'0001ULL, 0x5'4000'0000ULL, 0x7'0000'0042ULL);
  EXPECT_EQ(r.x0, st(Status::kSuccess));
  EXPECT_EQ(r.target_vcpu, 1u);
  EXPECT_EQ(r.entry, 0x4000'0000ULL);
  EXPECT_EQ(r.context_id, 0x42ULL);
}

TEST(PsciServer, CpuOnErrors) {
  PsciServer s = make();
  const struct {
    uint64_t target, entry;
    int64_t expected;
  } rows[] = {
      {0x2, 0x1000, st(Status::kInvalidParameters)},              // no such MPIDR
      {0x8000'0001ULL, 0x1000, st(Status::kInvalidParameters)},   // must-be-zero bit 31 set
      {0x1'0000'0000'0001ULL, 0x1000, st(Status::kInvalidParameters)},  // bits[63:40]
      {0x0, 0x1000, st(Status::kAlreadyOn)},                      // the caller itself
      {0x1, 0x1002, st(Status::kInvalidAddress)},                 // misaligned
      {0x1, 0x1001, st(Status::kInvalidAddress)},                 // T32-style entry
  };
  for (const auto& row : rows) {
    const PsciResult r = s.handle(0, psci::kCpuOn64, row.target, row.entry, 0);
    EXPECT_EQ(r.x0, row.expected) << std::hex << row.target << " " << row.entry;
    EXPECT_EQ(r.action, PsciAction::kNone);
  }
  EXPECT_EQ(s.state(1), PsciPowerState::kOff);
}

TEST(PsciServer, CpuOnTwiceAndPending) {
  PsciServer s = make();
  ASSERT_EQ(s.handle(0, psci::kCpuOn64, 0x1, 0x1000, 0).action, PsciAction::kStartVcpu);
  PsciResult r = s.handle(0, psci::kCpuOn64, 0x1, 0x1000, 0);
  EXPECT_EQ(r.x0, st(Status::kOnPending));
  EXPECT_EQ(r.action, PsciAction::kNone);
  ASSERT_TRUE(s.vcpu_started(1));
  r = s.handle(0, psci::kCpuOn64, 0x1, 0x1000, 0);
  EXPECT_EQ(r.x0, st(Status::kAlreadyOn));
  EXPECT_EQ(r.action, PsciAction::kNone);
}

TEST(PsciServer, CancelStartReturnsToOff) {
  PsciServer s = make();
  ASSERT_EQ(s.handle(0, psci::kCpuOn64, 0x100, 0x1000, 0).action, PsciAction::kStartVcpu);
  EXPECT_TRUE(s.cancel_start(2));
  EXPECT_EQ(s.state(2), PsciPowerState::kOff);
  EXPECT_FALSE(s.cancel_start(2));
  EXPECT_FALSE(s.vcpu_started(2));
  EXPECT_FALSE(s.vcpu_started(99));
  EXPECT_EQ(s.handle(0, psci::kCpuOn64, 0x100, 0x1000, 0).action, PsciAction::kStartVcpu);
}

TEST(PsciServer, CpuOffAndLastCpuStopsVm) {
  PsciServer s = make();
  ASSERT_EQ(s.handle(0, psci::kCpuOn64, 0x1, 0x1000, 0).action, PsciAction::kStartVcpu);
  // vCPU 1 is ON_PENDING: vCPU 0 going off is not the end of the VM.
  PsciResult r = s.handle(0, psci::kCpuOff, 0, 0, 0);
  EXPECT_EQ(r.action, PsciAction::kStopVcpu);
  EXPECT_FALSE(r.vm_stopped);
  EXPECT_EQ(s.state(0), PsciPowerState::kOff);
  ASSERT_TRUE(s.vcpu_started(1));
  r = s.handle(1, psci::kCpuOff, 0, 0, 0);
  EXPECT_EQ(r.action, PsciAction::kStopVcpu);
  EXPECT_TRUE(r.vm_stopped);
  EXPECT_EQ(s.state(1), PsciPowerState::kOff);
  // A stopped vCPU can be brought back (by another, in a real VM).
  s.reset();
  EXPECT_EQ(s.state(0), PsciPowerState::kOn);
  EXPECT_EQ(s.state(1), PsciPowerState::kOff);
}

TEST(PsciServer, AffinityInfoStates) {
  PsciServer s = make();
  ASSERT_EQ(s.handle(0, psci::kCpuOn64, 0x1, 0x1000, 0).action, PsciAction::kStartVcpu);
  const struct {
    uint32_t fid;
    uint64_t target, level;
    int64_t expected;
  } rows[] = {
      {psci::kAffinityInfo64, 0x0, 0, 0},                       // ON
      {psci::kAffinityInfo64, 0x1, 0, 2},                       // ON_PENDING
      {psci::kAffinityInfo64, 0x100, 0, 1},                     // OFF
      {psci::kAffinityInfo64, 0x1'0000'0000ULL, 0, 1},          // OFF, Aff3
      {psci::kAffinityInfo32, 0x1'0000'0000ULL, 0, 0},          // truncated to 0x0: ON
      {psci::kAffinityInfo32, 0x1, 0, 2},
      {psci::kAffinityInfo64, 0x0, 1, st(Status::kInvalidParameters)},
      {psci::kAffinityInfo64, 0x0, 3, st(Status::kInvalidParameters)},
      {psci::kAffinityInfo64, 0x0, 0x1'0000'0000ULL, 0},        // level is a uint32
      {psci::kAffinityInfo64, 0x2, 0, st(Status::kInvalidParameters)},
      {psci::kAffinityInfo64, 0x8000'0000ULL, 0, st(Status::kInvalidParameters)},
  };
  for (const auto& row : rows) {
    const PsciResult r = s.handle(0, row.fid, row.target, row.level, 0);
    EXPECT_EQ(r.x0, row.expected) << std::hex << row.fid << " " << row.target << " " << row.level;
    EXPECT_EQ(r.action, PsciAction::kNone);
  }
}

TEST(PsciServer, CpuSuspend) {
  PsciServer s = make();
  const struct {
    uint32_t fid;
    uint64_t power_state;
    int64_t expected;
  } rows[] = {
      {psci::kCpuSuspend32, 0x0, 0},
      {psci::kCpuSuspend64, 0x0001'0003, 0},  // powerdown, served as standby
      {psci::kCpuSuspend64, 0x0301'ffff, 0},  // PowerLevel 3
      {psci::kCpuSuspend64, 0x0400'0000, st(Status::kInvalidParameters)},  // bit 26
      {psci::kCpuSuspend64, 0x8000'0000, st(Status::kInvalidParameters)},  // bit 31
      {psci::kCpuSuspend32, 0x0002'0000, st(Status::kInvalidParameters)},  // bit 17
      {psci::kCpuSuspend32, 0x0080'0000, st(Status::kInvalidParameters)},  // bit 23
  };
  for (const auto& row : rows) {
    const PsciResult r = s.handle(0, row.fid, row.power_state, 0x1000, 0);
    EXPECT_EQ(r.x0, row.expected) << std::hex << row.power_state;
    EXPECT_EQ(r.action, row.expected == 0 ? PsciAction::kSuspend : PsciAction::kNone);
    if (row.expected == 0) {
      EXPECT_EQ(r.power_state, row.power_state);
    }
  }
  EXPECT_EQ(s.state(0), PsciPowerState::kOn);
}

TEST(PsciServer, MigrateFunctions) {
  PsciServer s = make();
  EXPECT_EQ(s.handle(0, psci::kMigrateInfoType, 0, 0, 0).x0, 2);
  for (uint32_t fid : {psci::kMigrate32, psci::kMigrate64, psci::kMigrateInfoUpCpu32, psci::kMigrateInfoUpCpu64})
    EXPECT_EQ(s.handle(0, fid, 0x1, 0, 0).x0, st(Status::kNotSupported)) << std::hex << fid;
}

TEST(PsciServer, SystemOffAndReset) {
  PsciServer s = make();
  EXPECT_EQ(s.handle(0, psci::kSystemOff, 0, 0, 0).action, PsciAction::kSystemOff);
  EXPECT_EQ(s.handle(0, psci::kSystemReset, 0, 0, 0).action, PsciAction::kSystemReset);
}

TEST(PsciServer, SystemReset2Types) {
  const struct {
    uint32_t fid;
    uint64_t type, cookie;
    int64_t expected;
    uint64_t expected_cookie;
  } rows[] = {
      {psci::kSystemReset2_64, 0, 0x1234'5678'9abc'def0ULL, 0, 0x1234'5678'9abc'def0ULL},  // warm
      {psci::kSystemReset2_32, 0, 0x1234'5678'9abc'def0ULL, 0, 0x9abc'def0ULL},            // cookie truncated
      {psci::kSystemReset2_64, 0x8000'0000ULL, 7, 0, 7},                                    // vendor 0
      {psci::kSystemReset2_32, 0xffff'ffffULL, 7, 0, 7},                                    // vendor max
      {psci::kSystemReset2_64, 0xffff'ffff'0000'0000ULL, 0, 0, 0},  // reset_type is a uint32: warm
      {psci::kSystemReset2_64, 1, 0, st(Status::kInvalidParameters), 0},
      {psci::kSystemReset2_32, 0x7fff'ffffULL, 0, st(Status::kInvalidParameters), 0},
  };
  PsciServer s = make();
  for (const auto& row : rows) {
    const PsciResult r = s.handle(0, row.fid, row.type, row.cookie, 0);
    EXPECT_EQ(r.x0, row.expected) << std::hex << row.type;
    if (row.expected == 0) {
      EXPECT_EQ(r.action, PsciAction::kSystemReset2);
      EXPECT_EQ(r.reset_type, static_cast<uint32_t>(row.type));
      EXPECT_EQ(r.cookie, row.expected_cookie);
    } else {
      EXPECT_EQ(r.action, PsciAction::kNone);
    }
  }
}

TEST(PsciServer, UnknownFunctionsAreNotSupported) {
  PsciServer s = make();
  for (uint64_t fid : {0x0ULL, 0x84000013ULL, 0x84000015ULL, 0xc4000002ULL, 0xc4000008ULL, 0xc400000aULL,
                       0x8400000eULL, 0x80000002ULL, 0x86000000ULL, 0xc6000000ULL, 0xffffffffULL}) {
    const PsciResult r = s.handle(0, fid, 0, 0, 0);
    EXPECT_EQ(r.x0, -1) << std::hex << fid;
    EXPECT_EQ(r.action, PsciAction::kNone);
  }
}

TEST(PsciServer, ArchFeaturesBasics) {
  PsciServer s = make();
  EXPECT_EQ(s.handle(0, smccc::kArchFeatures, smccc::kVersion, 0, 0).x0, 0);
  EXPECT_EQ(s.handle(0, smccc::kArchFeatures, smccc::kArchFeatures, 0, 0).x0, 0);
  EXPECT_EQ(s.handle(0, smccc::kArchFeatures, psci::kVersion, 0, 0).x0, -1);
  EXPECT_EQ(s.handle(0, smccc::kArchFeatures, 0x80000002, 0, 0).x0, -1);  // SOC_ID not offered
  EXPECT_EQ(s.handle(0, smccc::kArchFeatures, 0xffff'ffff'0000'0000ULL | smccc::kVersion, 0, 0).x0, 0);
}

TEST(PsciServer, WorkaroundAnswersForEveryHostCombination) {
  constexpr HostMitigation kAll[] = {HostMitigation::kRequired, HostMitigation::kNotRequired,
                                     HostMitigation::kUnknown};
  const auto features13 = [](HostMitigation m) -> int64_t {
    return m == HostMitigation::kRequired ? 0 : m == HostMitigation::kNotRequired ? 1 : -1;
  };
  const auto features2 = [](HostMitigation m) -> int64_t {
    return m == HostMitigation::kRequired ? 0 : m == HostMitigation::kNotRequired ? -2 : -1;
  };
  for (HostMitigation w1 : kAll) {
    for (HostMitigation w2 : kAll) {
      for (HostMitigation w3 : kAll) {
        PsciServer s = make({w1, w2, w3});
        const struct {
          uint32_t id;
          HostMitigation m;
          int64_t features;
        } rows[] = {{smccc::kArchWorkaround1, w1, features13(w1)},
                    {smccc::kArchWorkaround2, w2, features2(w2)},
                    {smccc::kArchWorkaround3, w3, features13(w3)}};
        for (const auto& row : rows) {
          const auto label = ::testing::Message() << std::hex << row.id << " " << static_cast<int>(w1)
                                                  << static_cast<int>(w2) << static_cast<int>(w3);
          EXPECT_EQ(s.handle(0, smccc::kArchFeatures, row.id, 0, 0).x0, row.features) << label;
          // The call itself.
          const PsciResult r = s.handle(0, row.id, 1, 0, 0);
          switch (row.m) {
            case HostMitigation::kRequired:
              EXPECT_EQ(r.x0, 0) << label;
              EXPECT_EQ(r.action, PsciAction::kHostWorkaround) << label;
              EXPECT_EQ(r.workaround_id, row.id) << label;
              EXPECT_EQ(r.workaround_arg, row.id == smccc::kArchWorkaround2 ? 1u : 0u) << label;
              break;
            case HostMitigation::kNotRequired:
              EXPECT_EQ(r.x0, 0) << label;
              EXPECT_EQ(r.action, PsciAction::kNone) << label;
              break;
            case HostMitigation::kUnknown:
              EXPECT_EQ(r.x0, -1) << label;
              EXPECT_EQ(r.action, PsciAction::kNone) << label;
              break;
          }
        }
      }
    }
  }
}

TEST(PsciServer, DefaultHostSecurityOffersNoWorkaround) {
  PsciServer s = make();
  for (uint32_t id : {smccc::kArchWorkaround1, smccc::kArchWorkaround2, smccc::kArchWorkaround3})
    EXPECT_EQ(s.handle(0, smccc::kArchFeatures, id, 0, 0).x0, -1);
}

}  // namespace
}  // namespace lamina::hyp
