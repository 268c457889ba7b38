// Tests for hyp/vm/guest_dtb_user: a user's guest DT cut to the VM's vCPUs
// and given the vGIC's GIC node, on QEMU virt's own DTBs used as user DTBs.
#include <gtest/gtest.h>
#include <libfdt.h>
#include <string>
#include <vector>

#include "fakes/dtb_blob.hpp"
#include "hyp/vm/guest_dtb.hpp"
#include "unit/hyp/vm/guest_dtb_test_helpers.hpp"

namespace lamina::hyp {
namespace {

using test::Dtb;
using test_helpers::cells_of;
using test_helpers::string_of;

GuestDtbSpec spec_for(uint32_t vcpus, GicVersion gic) {
  return test_helpers::spec_with_gic(vcpus, gic, 0x40000);
}

Result<size_t, GuestDtbError> patch(const Dtb& user, const GuestDtbSpec& spec, std::vector<uint8_t>* out) {
  out->assign(1 << 18, 0);
  return patch_guest_dtb(user.data(), user.capacity(), spec, out->data(), out->size());
}

TEST(GuestDtbUser, CpusCutToTheVcpusWithoutTheirTopology) {
  // QEMU's 4-CPU tree for a 2-vCPU VM: cpu@2 and cpu@3 go, and cpu-map,
  // whose phandles would name them, goes too.
  const Dtb user = Dtb::load("qemu-virt-gicv3-max-smp4-4g.dtb");
  std::vector<uint8_t> out;
  const auto r = patch(user, spec_for(2, GicVersion::kV3), &out);
  ASSERT_TRUE(r.ok());
  const void* fdt = out.data();
  EXPECT_EQ(fdt_check_full(fdt, r.value()), 0);
  EXPECT_GE(fdt_path_offset(fdt, "/cpus/cpu@0"), 0);
  EXPECT_GE(fdt_path_offset(fdt, "/cpus/cpu@1"), 0);
  EXPECT_LT(fdt_path_offset(fdt, "/cpus/cpu@2"), 0);
  EXPECT_LT(fdt_path_offset(fdt, "/cpus/cpu@3"), 0);
  EXPECT_LT(fdt_path_offset(fdt, "/cpus/cpu-map"), 0);
  EXPECT_EQ(string_of(fdt, "/cpus/cpu@1", "enable-method"), "psci");
}

TEST(GuestDtbUser, AllCpusKeptKeepTheirTopology) {
  const Dtb user = Dtb::load("qemu-virt-gicv3-max-smp4-4g.dtb");
  std::vector<uint8_t> out;
  ASSERT_TRUE(patch(user, spec_for(4, GicVersion::kV3), &out).ok());
  EXPECT_GE(fdt_path_offset(out.data(), "/cpus/cpu@3"), 0);
  EXPECT_GE(fdt_path_offset(out.data(), "/cpus/cpu-map"), 0);
}

TEST(GuestDtbUser, MoreVcpusThanCpuNodesIsRefused) {
  const Dtb user = Dtb::load("qemu-virt-gicv2-a57-smp1-1g.dtb");
  std::vector<uint8_t> out;
  const auto r = patch(user, spec_for(2, GicVersion::kV2), &out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, GuestDtbErrorCode::kBadUserDtb);
  EXPECT_STREQ(r.error().what, "/cpus");
}

TEST(GuestDtbUser, GicV3NodeBecomesTheVgicsAndKeepsItsPhandle) {
  // QEMU's GICR region covers 123 CPUs' frames; the vGIC's covers the VM's.
  const Dtb user = Dtb::load("qemu-virt-gicv3-max-smp4-4g.dtb");
  const uint32_t phandle = cells_of(user.data(), "/intc@8000000", "phandle").at(0);
  std::vector<uint8_t> out;
  ASSERT_TRUE(patch(user, spec_for(2, GicVersion::kV3), &out).ok());
  const void* fdt = out.data();
  EXPECT_EQ(cells_of(fdt, "/intc@8000000", "reg"),
            (std::vector<uint32_t>{0, 0x08000000, 0, 0x10000, 0, 0x080a0000, 0, 0x40000}));
  EXPECT_EQ(string_of(fdt, "/intc@8000000", "compatible"), "arm,gic-v3");
  EXPECT_EQ(cells_of(fdt, "/intc@8000000", "#redistributor-regions"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(cells_of(fdt, "/intc@8000000", "phandle"), (std::vector<uint32_t>{phandle}));
  EXPECT_EQ(cells_of(fdt, "/", "interrupt-parent"), (std::vector<uint32_t>{phandle}));
  EXPECT_LT(fdt_path_offset(fdt, "/intc@8000000/its@8080000"), 0);
}

TEST(GuestDtbUser, GicV2NodeGetsOnlyTheDistributorAndCpuInterface) {
  // QEMU's GICv2 node also lists GICH and GICV, which are lamina's.
  const Dtb user = Dtb::load("qemu-virt-gicv2-a57-smp1-1g.dtb");
  std::vector<uint8_t> out;
  ASSERT_TRUE(patch(user, spec_for(1, GicVersion::kV2), &out).ok());
  EXPECT_EQ(cells_of(out.data(), "/intc@8000000", "reg"),
            (std::vector<uint32_t>{0, 0x08000000, 0, 0x10000, 0, 0x08010000, 0, 0x2000}));
  EXPECT_EQ(string_of(out.data(), "/intc@8000000", "compatible"), "arm,cortex-a15-gic");
}

TEST(GuestDtbUser, NoGuestGicLeavesTheNodeAlone) {
  const Dtb user = Dtb::load("qemu-virt-gicv3-max-smp4-4g.dtb");
  std::vector<uint8_t> out;
  ASSERT_TRUE(patch(user, spec_for(1, GicVersion::kNone), &out).ok());
  EXPECT_EQ(cells_of(out.data(), "/intc@8000000", "reg"), cells_of(user.data(), "/intc@8000000", "reg"));
}

}  // namespace
}  // namespace lamina::hyp
