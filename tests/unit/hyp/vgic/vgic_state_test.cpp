// The vGIC state model against the GIC architecture: IHI 0069 "Interrupt
// handling state machine" (edge latch, level line, pending/active), "Affinity
// routing", "ICC_SGI1R_EL1"; IHI 0048B "GICD_SGIR", "GICD_SPENDSGIR",
// "GICD_ITARGETSR"; and the list-register protocol (load, guest ack/EOI in
// the list registers, fold).
#include "hyp/vgic/vgic_state.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "unit/hyp/vgic/vgic_test_support.hpp"

namespace lamina::hyp::vgic {
namespace {

using test::ListRegisters;
using test::make_state;
using test::v2_config;
using test::v3_config;

constexpr uint32_t kSpi = 40;
constexpr uint32_t kTimerPpi = 27;

// An SPI routed to vCPU `vcpu` (GICv3 affinity), enabled, Group 1, with the
// Distributor enabled: deliverable as soon as it is pending.
void route_and_enable(VgicState& s, uint32_t intid, uint32_t vcpu, uint8_t priority = 0xa0) {
  s.set_irouter(intid, s.mpidr(vcpu));
  s.set_priority(0, intid, priority);
  s.set_bits(BitArray::kEnable, 0, intid / 32 * 32, 1u << (intid % 32));
  s.set_group_enables(true, true);
}

bool reads(const VgicState& s, BitArray a, uint32_t vcpu, uint32_t intid) {
  return ((s.read_bits(a, vcpu, intid / 32 * 32) >> (intid % 32)) & 1) != 0;
}

std::vector<Virq> load(VgicState& s, uint32_t vcpu, size_t lrs = 4, LoadResult* result = nullptr) {
  std::vector<Virq> out(lrs);
  const LoadResult r = s.load_list_registers(vcpu, out);
  out.resize(r.loaded);
  if (result != nullptr) *result = r;
  return out;
}

void fold(VgicState& s, uint32_t vcpu, std::initializer_list<VirqState> states) {
  const std::vector<VirqState> v(states);
  s.fold_list_registers(vcpu, v);
}

// ---- Configuration ------------------------------------------------------

TEST(VgicState, InitRejectsBadConfigurations) {
  VgicState s;
  VgicConfig c = v3_config();
  c.vcpu_count = 0;
  EXPECT_EQ(s.init(c).error(), Error::kNoVcpus);
  c.vcpu_count = 9;
  EXPECT_EQ(s.init(c).error(), Error::kTooManyVcpus);
  c = v3_config();
  c.spi_count = 989;
  EXPECT_EQ(s.init(c).error(), Error::kTooManySpis);
  c = v3_config();
  c.mpidr[1] = 0x8000'0001;  // MPIDR_EL1 bit 31 (RES1) is not affinity
  EXPECT_EQ(s.init(c).error(), Error::kBadMpidr);
  c = v3_config();
  c.mpidr[1] = 0x10;  // Aff0 16: unreachable by an SGI without RSS
  EXPECT_EQ(s.init(c).error(), Error::kBadMpidr);
  c = v3_config();
  c.mpidr[2] = c.mpidr[1];
  EXPECT_EQ(s.init(c).error(), Error::kDuplicateMpidr);
  // GICv2 goes by vCPU index: MPIDRs do not matter.
  c = v2_config(8);
  EXPECT_TRUE(s.init(c).ok());
  c.spi_count = 988;
  EXPECT_TRUE(s.init(c).ok());
}

TEST(VgicState, SpiCountRoundsToWholeItLines) {
  // GICD_TYPER.ITLinesNumber N reports INTIDs up to 32(N+1)-1; the last
  // block stops at 1019 (1020-1023 are special).
  struct Case {
    uint32_t spis, limit, it_lines;
  };
  for (const Case c : {Case{0, 32, 0}, Case{1, 64, 1}, Case{32, 64, 1}, Case{33, 96, 2}, Case{960, 992, 30},
                       Case{961, 1020, 31}, Case{988, 1020, 31}}) {
    auto s = make_state(v3_config(1, c.spis));
    EXPECT_EQ(s->intid_limit(), c.limit) << c.spis;
    EXPECT_EQ(s->it_lines_number(), c.it_lines) << c.spis;
    EXPECT_TRUE(s->exists(0, c.limit - 1));
    EXPECT_FALSE(s->exists(0, c.limit));
  }
  auto s = make_state(v3_config(2));
  EXPECT_TRUE(s->exists(1, 31));
  EXPECT_FALSE(s->exists(2, 31));  // no third vCPU
}

TEST(VgicState, ResetValues) {
  auto v3 = make_state(v3_config());
  EXPECT_FALSE(v3->group_enabled(false));
  EXPECT_FALSE(v3->group_enabled(true));
  EXPECT_EQ(v3->read_bits(BitArray::kEnable, 0, 0), 0u);
  EXPECT_EQ(v3->read_bits(BitArray::kGroup, 0, 0), 0xffff'ffffu);  // Group 1 (KVM's choice)
  EXPECT_EQ(v3->read_bits(BitArray::kGroup, 0, 32), 0xffff'ffffu);
  EXPECT_EQ(v3->read_bits(BitArray::kPending, 0, 32), 0u);
  EXPECT_TRUE(v3->is_edge(0, 0));
  EXPECT_TRUE(v3->is_edge(0, 15));
  EXPECT_FALSE(v3->is_edge(0, 16));
  EXPECT_FALSE(v3->is_edge(0, kSpi));
  EXPECT_EQ(v3->priority(0, kSpi), 0u);

  auto v2 = make_state(v2_config());
  EXPECT_EQ(v2->read_bits(BitArray::kGroup, 0, 0), 0u);       // IHI 0048B: IGROUPR resets to 0
  EXPECT_EQ(v2->read_bits(BitArray::kEnable, 0, 0), 0xffffu);  // SGIs permanently enabled
}

// ---- Level and edge ------------------------------------------------------

// A level-sensitive SPI is pending while its line is high; the guest's EOI
// with the line still high makes it pending again, once the line drops it
// is not (IHI 0069 "Interrupt handling state machine", level-sensitive).
TEST(VgicState, LevelLineFollowsTheInput) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  EXPECT_TRUE(s->set_line(0, kSpi, true));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));

  ListRegisters lrs;
  EXPECT_EQ(lrs.enter(*s, 0).loaded, 1u);
  EXPECT_TRUE(lrs.at(0).eoi_maintenance) << "a level interrupt asks for EOI maintenance";
  EXPECT_EQ(lrs.ack(), kSpi);
  lrs.exit(*s, 0);
  EXPECT_TRUE(reads(*s, BitArray::kActive, 0, kSpi));
  // Active and the line still high: shown active only, not pending+active.
  auto v = load(*s, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kActive);
  fold(*s, 0, {VirqState::kInvalid});  // the guest's EOI
  EXPECT_FALSE(reads(*s, BitArray::kActive, 0, kSpi));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi)) << "line still high";
  EXPECT_TRUE(s->set_line(0, kSpi, false));
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, kSpi));
  EXPECT_TRUE(load(*s, 0).empty());
}

// A level interrupt retired (line low) while it sat pending in a list
// register is gone after the fold; its vCPU is kicked to fold.
TEST(VgicState, LevelRetiredWhileInAListRegister) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 1);
  s->set_line(0, kSpi, true);
  ASSERT_EQ(load(*s, 1).size(), 1u);
  (void)s->take_kicks();
  s->set_line(0, kSpi, false);
  EXPECT_EQ(s->take_kicks(), 1u << 1);
  fold(*s, 1, {VirqState::kPending});
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, kSpi));
  EXPECT_TRUE(load(*s, 1).empty());
}

// Edge-triggered: a rising edge latches pending once; a second edge while
// the first is active makes it pending and active.
TEST(VgicState, EdgeLatchesOnRisingEdges) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  s->set_edge(0, kSpi, true);
  s->set_line(0, kSpi, true);
  s->set_line(0, kSpi, true);  // no new edge
  ListRegisters lrs;
  lrs.enter(*s, 0);
  EXPECT_FALSE(lrs.at(0).eoi_maintenance);
  EXPECT_EQ(lrs.ack(), kSpi);
  EXPECT_EQ(lrs.ack(), test::kSpurious);
  s->set_line(0, kSpi, false);
  s->set_line(0, kSpi, true);  // a second edge while the first is in the list register
  lrs.exit(*s, 0);
  EXPECT_TRUE(reads(*s, BitArray::kActive, 0, kSpi));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));
  auto v = load(*s, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kPendingActive);
  fold(*s, 0, {VirqState::kInvalid});  // guest: EOI, then ack+EOI of the pending one
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, kSpi));
  EXPECT_FALSE(reads(*s, BitArray::kActive, 0, kSpi));
}

// An edge interrupt the guest did not take is pending again after the fold,
// exactly once.
TEST(VgicState, UntakenInterruptSurvivesTheFold) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  s->set_edge(0, kSpi, true);
  s->pulse(0, kSpi);
  ASSERT_EQ(load(*s, 0).size(), 1u);
  EXPECT_EQ(s->loaded_count(0), 1u);
  fold(*s, 0, {VirqState::kPending});
  EXPECT_EQ(s->loaded_count(0), 0u);
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));
  auto v = load(*s, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kPending);
  fold(*s, 0, {VirqState::kInvalid});
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, kSpi));
}

TEST(VgicState, SoftwarePendingOnALevelInterrupt) {
  // GICD_ISPENDR on a level interrupt latches pending whatever the line;
  // the guest's acknowledge clears the latch.
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  s->set_bits(BitArray::kPending, 0, 32, 1u << (kSpi - 32));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));
  ASSERT_EQ(load(*s, 0).size(), 1u);
  fold(*s, 0, {VirqState::kPending});  // not taken: still latched
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));
  ASSERT_EQ(load(*s, 0).size(), 1u);
  fold(*s, 0, {VirqState::kActive});  // taken
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, kSpi));
  EXPECT_TRUE(reads(*s, BitArray::kActive, 0, kSpi));
  // GICD_ICPENDR clears only the latch: with the line high it stays pending.
  s->set_line(0, kSpi, true);
  s->clear_bits(BitArray::kPending, 0, 32, 1u << (kSpi - 32));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));
}

// ---- Presentation order and overflow -----------------------------------------

// Active ones first, then pending by priority (lower value first), then by
// INTID; what does not fit is counted as deferred.
TEST(VgicState, LoadsTheBestInOrder) {
  auto s = make_state(v3_config());
  const struct {
    uint32_t intid;
    uint8_t priority;
  } irqs[] = {{40, 0xa0}, {41, 0x20}, {42, 0xa0}, {43, 0x80}, {44, 0xf0}, {45, 0x20}};
  for (const auto& i : irqs) {
    route_and_enable(*s, i.intid, 0, i.priority);
    s->set_edge(0, i.intid, true);
    s->pulse(0, i.intid);
  }
  // INTID 44 (lowest priority) is already active on vCPU 0.
  s->set_priority(0, 44, 0xf0);
  s->clear_bits(BitArray::kPending, 0, 32, 1u << (44 - 32));
  s->set_bits(BitArray::kActive, 0, 32, 1u << (44 - 32));

  LoadResult r;
  auto v = load(*s, 0, 4, &r);
  EXPECT_EQ(r.loaded, 4u);
  EXPECT_EQ(r.deferred, 2u);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].intid, 44u);  // active first
  EXPECT_EQ(v[0].state, VirqState::kActive);
  EXPECT_EQ(v[1].intid, 41u);  // 0x20, lower INTID first
  EXPECT_EQ(v[2].intid, 45u);
  EXPECT_EQ(v[3].intid, 43u);  // 0x80
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(v[i].state, VirqState::kPending);
  // The deferred ones (40, 42 at 0xa0) are still pending in the model.
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, 40));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, 42));
}

// More pending than list registers: the underflow maintenance interrupt is
// requested, fires once the guest has consumed all but one, and the next
// load brings the rest; every edge is delivered exactly once, in priority
// order.
TEST(VgicState, OverflowDeliversEverythingOnce) {
  auto s = make_state(v3_config());
  std::vector<uint32_t> expected;
  for (uint32_t i = 0; i < 7; ++i) {
    const uint32_t intid = 32 + i;
    route_and_enable(*s, intid, 0, static_cast<uint8_t>(0x10 * (7 - i)));  // 38 most urgent
    s->set_edge(0, intid, true);
    s->pulse(0, intid);
  }
  for (uint32_t i = 7; i-- > 0;) expected.push_back(32 + i);
  ListRegisters lrs(4);
  std::vector<uint32_t> taken;
  for (int round = 0; round < 4 && taken.size() < 7; ++round) {
    const LoadResult r = lrs.enter(*s, 0);
    if (round == 0) {
      EXPECT_EQ(r.loaded, 4u);
      EXPECT_EQ(r.deferred, 3u);
    }
    // The guest takes interrupts until the underflow interrupt would fire
    // (or nothing is left).
    while (!lrs.underflow_asserted()) {
      const uint32_t intid = lrs.ack();
      if (intid == test::kSpurious) break;
      taken.push_back(intid);
      EXPECT_TRUE(lrs.eoi(intid));
    }
    lrs.exit(*s, 0);
  }
  EXPECT_EQ(taken, expected);
  EXPECT_TRUE(load(*s, 0).empty());
}

// ---- Enables, groups --------------------------------------------------------

TEST(VgicState, OnlyEnabledGroupEnabledInterruptsAreShown) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  s->set_group_enables(true, false);
  s->pulse(0, kSpi);
  EXPECT_TRUE(load(*s, 0).empty()) << "Group 1 disabled at the Distributor";
  EXPECT_FALSE(s->highest_pending_priority(0).has_value());
  s->set_group_enables(false, true);
  s->clear_bits(BitArray::kEnable, 0, 32, 1u << (kSpi - 32));
  EXPECT_TRUE(load(*s, 0).empty()) << "disabled";
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi)) << "still pending while disabled";
  s->write_groups(0, 32, 0);  // Group 0
  s->set_bits(BitArray::kEnable, 0, 32, 1u << (kSpi - 32));
  EXPECT_TRUE(load(*s, 0).empty()) << "Group 0 disabled";
  s->set_group_enables(true, true);
  auto v = load(*s, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].group1);
  fold(*s, 0, {VirqState::kActive});
  // Active interrupts are shown even when disabled, so the guest can
  // deactivate them.
  s->clear_bits(BitArray::kEnable, 0, 32, 1u << (kSpi - 32));
  v = load(*s, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kActive);
}

TEST(VgicState, PriorityKeepsTheImplementedBits) {
  auto s = make_state(v3_config());
  s->set_priority(0, kSpi, 0xff);
  EXPECT_EQ(s->priority(0, kSpi), 0xf8u);  // 5 bits: [7:3]
  s->set_priority(2, 20, 0x47);
  EXPECT_EQ(s->priority(2, 20), 0x40u);
  EXPECT_EQ(s->priority(1, 20), 0u) << "PPIs are per vCPU";
}

TEST(VgicState, TriggerConfiguration) {
  auto s = make_state(v3_config());
  s->set_edge(0, 3, false);
  EXPECT_TRUE(s->is_edge(0, 3)) << "SGIs are always edge-triggered";
  s->set_edge(1, 20, true);
  EXPECT_TRUE(s->is_edge(1, 20));
  EXPECT_FALSE(s->is_edge(0, 20));
}

// ---- Routing ---------------------------------------------------------------

TEST(VgicState, IrouterRoutesByAffinity) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 3);
  EXPECT_EQ(s->irouter(kSpi), 0x1'0000'0002u);
  s->pulse(0, kSpi);
  EXPECT_EQ(s->take_kicks() & (1u << 3), 1u << 3);
  EXPECT_TRUE(load(*s, 0).empty());
  ASSERT_EQ(load(*s, 3).size(), 1u);
  fold(*s, 3, {VirqState::kPending});
  // Interrupt_Routing_Mode is RAZ/WI; an affinity no vCPU has leaves the
  // SPI pending with nobody.
  s->set_irouter(kSpi, 0x8000'0000 | 0x0003);
  EXPECT_EQ(s->irouter(kSpi), 0x3u);
  for (uint32_t v = 0; v < 4; ++v) EXPECT_TRUE(load(*s, v).empty()) << v;
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));
  (void)s->take_kicks();
  s->set_irouter(kSpi, 0x100);  // vCPU 2 (Aff1 = 1)
  EXPECT_EQ(s->take_kicks(), 1u << 2);
  ASSERT_EQ(load(*s, 2).size(), 1u);
}

// An SPI that moves while it sits pending in vCPU 0's list registers goes
// to its new target after vCPU 0 folds; one that is active stays with vCPU
// 0 until deactivated.
TEST(VgicState, SpiMigratesBetweenListRegisters) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  s->set_edge(0, kSpi, true);
  s->pulse(0, kSpi);
  ASSERT_EQ(load(*s, 0).size(), 1u);
  (void)s->take_kicks();
  s->set_irouter(kSpi, s->mpidr(1));
  EXPECT_EQ(s->take_kicks(), 1u << 0) << "the vCPU holding it must fold";
  EXPECT_TRUE(load(*s, 1).empty()) << "still in vCPU 0's list registers";
  fold(*s, 0, {VirqState::kPending});
  EXPECT_EQ(s->take_kicks() & (1u << 1), 1u << 1) << "now vCPU 1's";
  auto v = load(*s, 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kPending);
  fold(*s, 1, {VirqState::kActive});
  // Active on vCPU 1: rerouting to vCPU 0 does not move it, and a new edge
  // waits for the deactivation there.
  s->set_irouter(kSpi, s->mpidr(0));
  s->pulse(0, kSpi);
  EXPECT_TRUE(load(*s, 0).empty());
  v = load(*s, 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kPendingActive);
  fold(*s, 1, {VirqState::kPending});  // the guest deactivated the active one
  EXPECT_TRUE(load(*s, 1).empty());
  v = load(*s, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kPending);
}

TEST(VgicState, V2TargetsRouteToTheLowestTarget) {
  auto s = make_state(v2_config(3));
  s->set_targets(kSpi, 0xff);
  EXPECT_EQ(s->targets(kSpi), 0x07u) << "bits of absent CPU interfaces are RAZ/WI";
  s->set_targets(kSpi, 0b110);
  s->set_bits(BitArray::kEnable, 0, 32, 1u << (kSpi - 32));
  s->set_group_enables(true, true);
  s->pulse(0, kSpi);
  EXPECT_TRUE(load(*s, 0).empty());
  EXPECT_EQ(load(*s, 1).size(), 1u);
  // Uniprocessor: ITARGETSR RAZ/WI, everything goes to CPU 0.
  auto u = make_state(v2_config(1));
  u->set_targets(kSpi, 0x2);
  EXPECT_EQ(u->targets(kSpi), 0u);
  u->set_bits(BitArray::kEnable, 0, 32, 1u << (kSpi - 32));
  u->set_group_enables(true, true);
  u->pulse(0, kSpi);
  EXPECT_EQ(load(*u, 0).size(), 1u);
}

// ---- Changes while in a list register ----------------------------------------

TEST(VgicState, ClearPendingWhileInAListRegister) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  s->set_edge(0, kSpi, true);
  s->pulse(0, kSpi);
  ASSERT_EQ(load(*s, 0).size(), 1u);
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi)) << "reads see the loaded state";
  s->clear_bits(BitArray::kPending, 0, 32, 1u << (kSpi - 32));
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, kSpi));
  fold(*s, 0, {VirqState::kPending});  // the guest never saw it
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, kSpi));
  EXPECT_TRUE(load(*s, 0).empty());
}

TEST(VgicState, ActiveRegistersWhileInAListRegister) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  s->set_edge(0, kSpi, true);
  s->pulse(0, kSpi);
  ASSERT_EQ(load(*s, 0).size(), 1u);
  s->set_bits(BitArray::kActive, 0, 32, 1u << (kSpi - 32));
  EXPECT_TRUE(reads(*s, BitArray::kActive, 0, kSpi));
  fold(*s, 0, {VirqState::kPending});
  EXPECT_TRUE(reads(*s, BitArray::kActive, 0, kSpi));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));
  ASSERT_EQ(load(*s, 0).size(), 1u);
  s->clear_bits(BitArray::kActive, 0, 32, 1u << (kSpi - 32));
  EXPECT_FALSE(reads(*s, BitArray::kActive, 0, kSpi));
  fold(*s, 0, {VirqState::kPendingActive});
  EXPECT_FALSE(reads(*s, BitArray::kActive, 0, kSpi));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi));
}

TEST(VgicState, LoadWithoutFoldFoldsUnchanged) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 0);
  s->set_edge(0, kSpi, true);
  s->pulse(0, kSpi);
  ASSERT_EQ(load(*s, 0).size(), 1u);
  auto v = load(*s, 0);  // no fold in between: nothing lost
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].intid, kSpi);
  EXPECT_EQ(v[0].state, VirqState::kPending);
}

// ---- SGIs ------------------------------------------------------------------

TEST(VgicState, Sgi1rTargetsByAffinity) {
  auto s = make_state(v3_config());
  s->set_group_enables(true, true);
  for (uint32_t v = 0; v < 4; ++v) s->set_bits(BitArray::kEnable, v, 0, 0xffff);
  (void)s->take_kicks();
  // SGI 3 to Aff3.Aff2.Aff1 = 0.0.0, Aff0 {0, 1}: vCPUs 0 and 1.
  s->send_sgi_v3(2, arch::IccSgi1rEl1((3ull << 24) | 0b11), SgiRegister::kSgi1r);
  EXPECT_EQ(s->take_kicks(), 0b0011u);
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, 3));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 1, 3));
  EXPECT_FALSE(reads(*s, BitArray::kPending, 2, 3));
  // Aff1 = 1, Aff0 0: vCPU 2 only; Aff3 = 1, Aff0 2: vCPU 3 only.
  s->send_sgi_v3(0, arch::IccSgi1rEl1((4ull << 24) | (1u << 16) | 0b1), SgiRegister::kSgi1r);
  s->send_sgi_v3(0, arch::IccSgi1rEl1((1ull << 48) | (5ull << 24) | 0b100), SgiRegister::kSgi1r);
  EXPECT_TRUE(reads(*s, BitArray::kPending, 2, 4));
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, 4));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 3, 5));
  EXPECT_FALSE(reads(*s, BitArray::kPending, 0, 5));
  // RS = 1 names Aff0 16-31: nobody here.
  s->send_sgi_v3(0, arch::IccSgi1rEl1((1ull << 44) | (6ull << 24) | 0xffff), SgiRegister::kSgi1r);
  for (uint32_t v = 0; v < 4; ++v) EXPECT_FALSE(reads(*s, BitArray::kPending, v, 6)) << v;
  // IRM = 1: everyone but the sender, whatever the other fields say.
  s->send_sgi_v3(1, arch::IccSgi1rEl1((1ull << 40) | (7ull << 24)), SgiRegister::kSgi1r);
  EXPECT_EQ(s->read_bits(BitArray::kPending, 0, 0) & (1u << 7), 1u << 7);
  EXPECT_EQ(s->read_bits(BitArray::kPending, 1, 0) & (1u << 7), 0u);
  EXPECT_EQ(s->read_bits(BitArray::kPending, 3, 0) & (1u << 7), 1u << 7);
  auto v = load(*s, 3);
  ASSERT_EQ(v.size(), 2u);  // SGIs 5 and 7, same priority: lower INTID first
  EXPECT_EQ(v[0].intid, 5u);
  EXPECT_EQ(v[1].intid, 7u);
  EXPECT_EQ(v[0].source, 0u) << "GICv3 SGIs carry no source";
}

TEST(VgicState, Sgi0rGeneratesGroup0Only) {
  auto s = make_state(v3_config());
  s->write_groups(1, 0, 0xffff'fffe);  // SGI 0 of vCPU 1 in Group 0, the rest Group 1
  s->send_sgi_v3(0, arch::IccSgi1rEl1((0ull << 24) | 0b10), SgiRegister::kSgi0r);
  s->send_sgi_v3(0, arch::IccSgi1rEl1((1ull << 24) | 0b10), SgiRegister::kSgi0r);
  s->send_sgi_v3(0, arch::IccSgi1rEl1((1ull << 24) | 0b10), SgiRegister::kAsgi1r);
  EXPECT_TRUE(reads(*s, BitArray::kPending, 1, 0));
  EXPECT_FALSE(reads(*s, BitArray::kPending, 1, 1)) << "a Group 1 SGI is not generated by SGI0R/ASGI1R";
  s->send_sgi_v3(0, arch::IccSgi1rEl1((2ull << 24) | 0b10), SgiRegister::kSgi1r);
  s->write_groups(1, 0, 0xffff'fff0);
  s->send_sgi_v3(0, arch::IccSgi1rEl1((3ull << 24) | 0b10), SgiRegister::kSgi1r);
  EXPECT_TRUE(reads(*s, BitArray::kPending, 1, 2));
  EXPECT_TRUE(reads(*s, BitArray::kPending, 1, 3)) << "SGI1R also generates Group 0 SGIs when DS = 1";
}

TEST(VgicState, V2SgiSourcesAreDeliveredOneAtATime) {
  auto s = make_state(v2_config(4));
  s->set_group_enables(true, true);
  // Linux's IPI: GICD_SGIR = CPUTargetList << 16 | SGI; from vCPUs 1 and 2
  // to vCPU 0, and from vCPU 3 with "all but self".
  s->send_sgi_v2(1, arch::GicdSgir((1u << 16) | 2));
  s->send_sgi_v2(2, arch::GicdSgir((1u << 16) | 2));
  s->send_sgi_v2(3, arch::GicdSgir((1u << 24) | 2));
  EXPECT_EQ(s->sgi_sources(0, 2), 0b1110u);
  EXPECT_EQ(s->sgi_sources(1, 2), 0b1000u);
  EXPECT_EQ(s->sgi_sources(3, 2), 0u);
  // A reserved filter sends nothing; "self" only to the sender.
  s->send_sgi_v2(1, arch::GicdSgir((3u << 24) | (0xfu << 16) | 4));
  s->send_sgi_v2(1, arch::GicdSgir((2u << 24) | (0xfu << 16) | 4));
  EXPECT_EQ(s->sgi_sources(1, 4), 0b0010u);
  EXPECT_EQ(s->sgi_sources(0, 4), 0u);

  std::vector<uint8_t> sources;
  for (int round = 0; round < 4; ++round) {
    auto v = load(*s, 0);
    if (v.empty()) break;
    ASSERT_EQ(v.size(), 1u) << "one list register per SGI";
    EXPECT_EQ(v[0].intid, 2u);
    EXPECT_EQ(v[0].eoi_maintenance, round < 2) << "more sources queued: EOI maintenance";
    sources.push_back(v[0].source);
    fold(*s, 0, {VirqState::kInvalid});
  }
  EXPECT_EQ(sources, (std::vector<uint8_t>{1, 2, 3}));
}

TEST(VgicState, V2SgiPendingBitsAreSourceRegisters) {
  auto s = make_state(v2_config(2));
  // ISPENDR0/ICPENDR0 SGI bits ignore writes; GICD_S/CPENDSGIR act per source.
  s->set_bits(BitArray::kPending, 0, 0, 0x1);
  EXPECT_EQ(s->read_bits(BitArray::kPending, 0, 0), 0u);
  s->set_sgi_sources(0, 0, 0xff);
  EXPECT_EQ(s->sgi_sources(0, 0), 0b11u) << "sources of absent vCPUs are not kept";
  EXPECT_EQ(s->read_bits(BitArray::kPending, 0, 0), 0x1u);
  s->clear_bits(BitArray::kPending, 0, 0, 0x1);
  EXPECT_EQ(s->sgi_sources(0, 0), 0b11u);
  s->clear_sgi_sources(0, 0, 0b01);
  EXPECT_EQ(s->sgi_sources(0, 0), 0b10u);
  // ICENABLER0 cannot disable SGIs on GICv2.
  s->clear_bits(BitArray::kEnable, 0, 0, 0xffff);
  EXPECT_EQ(s->read_bits(BitArray::kEnable, 0, 0), 0xffffu);
}

// ---- HW-mapped interrupts --------------------------------------------------

TEST(VgicState, HwInterruptIsForwardedAndNeverPendingActive) {
  auto s = make_state(v3_config());
  s->set_group_enables(true, true);
  ASSERT_TRUE(s->map_hw(1, kTimerPpi, 27));
  s->set_bits(BitArray::kEnable, 1, 0, 1u << kTimerPpi);
  EXPECT_FALSE(s->hw_owed(1, kTimerPpi));
  s->set_line(1, kTimerPpi, true);  // the physical interrupt, taken at EL2
  EXPECT_TRUE(s->hw_owed(1, kTimerPpi));
  auto v = load(*s, 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].hw);
  EXPECT_EQ(v[0].pintid, 27u);
  EXPECT_FALSE(v[0].eoi_maintenance);
  fold(*s, 1, {VirqState::kActive});
  s->set_bits(BitArray::kPending, 1, 0, 1u << kTimerPpi);
  v = load(*s, 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kActive) << "HW: pending waits for the deactivation";
  fold(*s, 1, {VirqState::kInvalid});  // deactivated by the guest, through the HW bit
  v = load(*s, 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].state, VirqState::kPending);
  fold(*s, 1, {VirqState::kInvalid});
  EXPECT_FALSE(s->hw_owed(1, kTimerPpi));
  std::array<HwDeactivation, 4> d{};
  EXPECT_EQ(s->take_hw_deactivations(d), 0u) << "the guest deactivated everything itself";
  EXPECT_FALSE(s->map_hw(0, 5, 5)) << "SGIs cannot be mapped";
  EXPECT_FALSE(s->map_hw(0, 30, 1020)) << "special INTIDs cannot be targets";
}

TEST(VgicState, HwInterruptRemovedByTheGuestIsDeactivated) {
  auto s = make_state(v3_config());
  s->set_group_enables(true, true);
  ASSERT_TRUE(s->map_hw(0, kSpi, 77));
  route_and_enable(*s, kSpi, 0);
  s->set_line(0, kSpi, true);
  s->clear_bits(BitArray::kPending, 0, 32, 1u << (kSpi - 32));  // never reached the guest
  std::array<HwDeactivation, 4> d{};
  ASSERT_EQ(s->take_hw_deactivations(d), 1u);
  EXPECT_EQ(d[0].pintid, 77u);
  EXPECT_EQ(d[0].vcpu, kNoVcpu);
  EXPECT_EQ(s->take_hw_deactivations(d), 0u);
  // Removed while in a list register: found at the fold.
  s->set_line(0, kSpi, true);
  ASSERT_EQ(load(*s, 0).size(), 1u);
  fold(*s, 0, {VirqState::kActive});
  ASSERT_EQ(load(*s, 0).size(), 1u);
  s->clear_bits(BitArray::kActive, 0, 32, 1u << (kSpi - 32));
  EXPECT_EQ(s->take_hw_deactivations(d), 0u);
  fold(*s, 0, {VirqState::kActive});
  ASSERT_EQ(s->take_hw_deactivations(d), 1u);
  EXPECT_EQ(d[0].pintid, 77u);
  // A PPI names its vCPU; reset() deactivates whatever was owed.
  ASSERT_TRUE(s->map_hw(2, kTimerPpi, 27));
  s->set_line(2, kTimerPpi, true);
  s->reset();
  ASSERT_EQ(s->take_hw_deactivations(d), 1u);
  EXPECT_EQ(d[0].pintid, 27u);
  EXPECT_EQ(d[0].vcpu, 2u);
  EXPECT_FALSE(s->hw_owed(2, kTimerPpi));
}

// ---- Queries, kicks, reset ------------------------------------------------

TEST(VgicState, HighestPendingPriorityAndQuiescence) {
  auto s = make_state(v3_config());
  EXPECT_TRUE(s->quiescent(0));
  EXPECT_FALSE(s->highest_pending_priority(0).has_value());
  route_and_enable(*s, 40, 0, 0xa0);
  route_and_enable(*s, 41, 0, 0x60);
  s->pulse(0, 40);
  s->pulse(0, 41);
  EXPECT_FALSE(s->quiescent(0));
  EXPECT_EQ(s->highest_pending_priority(0), std::optional<uint8_t>(0x60));
  EXPECT_FALSE(s->highest_pending_priority(1).has_value());
  ASSERT_EQ(load(*s, 0, 1).size(), 1u);  // 41 loaded, 40 left
  EXPECT_EQ(s->highest_pending_priority(0), std::optional<uint8_t>(0x60));
  fold(*s, 0, {VirqState::kActive});
  EXPECT_EQ(s->highest_pending_priority(0), std::optional<uint8_t>(0xa0));
}

TEST(VgicState, KicksNameTheVcpusThatMustLook) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 1);
  (void)s->take_kicks();
  s->set_priority(0, kSpi, 0x10);
  EXPECT_EQ(s->take_kicks(), 0u) << "nothing pending";
  s->set_line(0, kSpi, true);
  EXPECT_EQ(s->take_kicks(), 1u << 1);
  EXPECT_EQ(s->take_kicks(), 0u) << "cleared by the take";
  s->set_group_enables(true, false);
  EXPECT_EQ(s->take_kicks(), 0b1111u);
  s->set_group_enables(true, false);
  EXPECT_EQ(s->take_kicks(), 0u) << "no change, no kick";
}

TEST(VgicState, ResetKeepsLinesAndMappings) {
  auto s = make_state(v3_config());
  route_and_enable(*s, kSpi, 1);
  s->set_line(0, kSpi, true);
  ASSERT_EQ(load(*s, 1).size(), 1u);
  ASSERT_TRUE(s->map_hw(0, kTimerPpi, 27));
  s->reset();
  EXPECT_EQ(s->loaded_count(1), 0u);
  EXPECT_FALSE(s->group_enabled(true));
  EXPECT_EQ(s->read_bits(BitArray::kEnable, 0, 32), 0u);
  EXPECT_EQ(s->irouter(kSpi), 0u);
  EXPECT_TRUE(reads(*s, BitArray::kPending, 0, kSpi)) << "the device still drives its line";
  s->set_bits(BitArray::kEnable, 0, 0, 1u << kTimerPpi);
  s->set_group_enables(true, true);
  s->set_line(0, kTimerPpi, true);
  auto v = load(*s, 0);
  ASSERT_FALSE(v.empty());
  EXPECT_TRUE(v[0].hw) << "the mapping survives";
}

}  // namespace
}  // namespace lamina::hyp::vgic
