// The device tree a guest finds in x0 at entry.
//
// Two ways to make it, both into a caller-supplied buffer (no heap):
//
// * build_guest_dtb() writes a tree from scratch with libfdt's
//   sequential-write API. It mirrors QEMU virt's own tree (compare
//   `qemu-system-aarch64 -M virt -cpu cortex-a57 -machine dumpdtb=virt.dtb`),
//   so that a bare-metal program or a Linux kernel written for QEMU virt
//   finds what it expects: "linux,dummy-virt", 2/2 root cells, /psci (HVC),
//   /cpus, /memory, the architected timer, the PL011 with its 24 MHz
//   apb-pclk, /aliases, /chosen with stdout-path, and, when the guest has
//   one, the GIC as the root's interrupt-parent. QEMU's flash, fw-cfg, RTC,
//   GPIO, virtio-mmio, PCIe and PMU nodes are left out (lamina emulates none
//   of them) unless the VM owns the device: then its host node is copied
//   (write_passthrough_nodes).
// * patch_guest_dtb() takes a DTB the user supplied (a VM's
//   "multiboot,device-tree" module), validates it with fdt_check_full and
//   changes only what lamina must: the memory nodes (replaced by the VM's
//   RAM), /chosen bootargs and initrd, and the PSCI conduit ("hvc"), and
//   removes what the VM cannot use (prune_user_devices). Every other node
//   is the user's business and passes through untouched.
//
// Architecture-neutral: compiled for the EL2 image and for the host tests
// (tests/unit/hyp/vm/guest_dtb_test.cpp). Debian's libfdt.a uses FP/SIMD
// registers (see docs/ARCHITECTURE.md, "Dependencies and why"), so at EL2
// these functions must run where no guest FP/SIMD state is live in the
// registers (e.g. at VM creation, before a vCPU first runs on this CPU).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hyp/lib/result.hpp"
#include "hyp/platform/platform.hpp"
#include "hyp/vm/passthrough.hpp"
#include "mm/addr.hpp"

namespace lamina::hyp {

// QEMU virt's guest-visible layout (hw/arm/virt.c memmap), which the guest
// platform mirrors so that programs built for QEMU virt run unchanged.
namespace qemu_virt {
inline constexpr mm::IntermediatePhysAddr kRamBase{0x4000'0000};
inline constexpr mm::IntermediatePhysAddr kPl011Base{0x0900'0000};
inline constexpr uint32_t kPl011Spi = 1;  // interrupts = <0 1 4>
inline constexpr mm::IntermediatePhysAddr kGicdBase{0x0800'0000};  // GICv3 and GICv2 distributor
inline constexpr uint64_t kGicdSize = 0x1'0000;      // the GICv3 distributor's 64 KiB frame
inline constexpr uint64_t kGicdV2Size = 0x1000;      // the GICv2 distributor's register map (IHI 0048B 4.1.2)
inline constexpr mm::IntermediatePhysAddr kGiccBase{0x0801'0000};  // GICv2 CPU interface (the host's GICV)
inline constexpr uint64_t kGiccSize = 0x2000;        // GICC_DIR is at 0x1000 (IHI 0048B Table 4-2)
inline constexpr mm::IntermediatePhysAddr kGicrBase{0x080a'0000};  // GICv3 redistributors
// QEMU's apb-pclk fixed clock, which clocks its PL011s (24 MHz).
inline constexpr uint32_t kApbPclkHz = 24'000'000;
}  // namespace qemu_virt

// Size of the PL011 register frame in the guest DT (PrimeCell: 4 KiB).
inline constexpr uint64_t kGuestPl011Size = 0x1000;
// Size of lamina's emulated MMIO test device ("lamina,test-device").
inline constexpr uint64_t kGuestTestDeviceSize = 0x1000;

// vCPU n is cpu@n with MPIDR Aff0 = n (Aff1..3 = 0), so at most 256 vCPUs.
inline constexpr uint32_t kGuestDtbMaxVcpus = 256;
// A GICv2 serves at most eight CPU interfaces (IHI 0048B: GICD_ITARGETSRn
// has one bit per interface), so a guest with a GICv2 has at most 8 vCPUs.
inline constexpr uint32_t kGuestDtbMaxVcpusGicV2 = 8;

// One 3-cell GIC interrupt specifier <type number flags>
// (Documentation/devicetree/bindings/interrupt-controller/arm,gic.yaml):
// type 0 = SPI, 1 = PPI; flags[3:0] = trigger (1 edge rising, 4 level high,
// 8 level low); for GICv2 PPIs flags[15:8] is the mask of CPUs the PPI is
// wired to.
struct GicInterruptSpecifier {
  uint32_t type = 0;
  uint32_t number = 0;
  uint32_t flags = 0;
  friend constexpr bool operator==(const GicInterruptSpecifier&, const GicInterruptSpecifier&) = default;
};

inline constexpr uint32_t kGicSpecifierSpi = 0;
inline constexpr uint32_t kGicSpecifierPpi = 1;
inline constexpr uint32_t kGicSpecifierLevelHigh = 4;

// The architected timer's interrupts in binding order
// (Documentation/devicetree/bindings/timer/arm,arch_timer.yaml): secure
// physical, non-secure physical, virtual, hypervisor physical. A guest gets
// exactly these four (a host's optional fifth, the EL2 virtual timer, means
// nothing to an EL1 guest).
inline constexpr size_t kTimerInterrupts = 4;
using TimerInterrupts = std::array<GicInterruptSpecifier, kTimerInterrupts>;

// QEMU virt's timer interrupts with a GICv3 (PPIs 13, 14, 11, 10, level
// high, no CPU mask).
inline constexpr TimerInterrupts kQemuVirtTimerInterrupts = {{
    {kGicSpecifierPpi, 13, kGicSpecifierLevelHigh},
    {kGicSpecifierPpi, 14, kGicSpecifierLevelHigh},
    {kGicSpecifierPpi, 11, kGicSpecifierLevelHigh},
    {kGicSpecifierPpi, 10, kGicSpecifierLevelHigh},
}};

// The guest's interrupt controller. kNone: no GIC node and no
// interrupt-parent (issue 4's guests); the timer's and the UART's
// `interrupts` are still written, as the bindings require them.
struct GuestGicSpec {
  GicVersion version = GicVersion::kNone;
  mm::IntermediatePhysAddr distributor;  // GICD (v2 and v3)
  uint64_t distributor_size = 0;
  mm::IntermediatePhysAddr cpu_interface;  // GICC (v2 only)
  uint64_t cpu_interface_size = 0;
  mm::IntermediatePhysAddr redistributors;  // GICR (v3 only; one contiguous region)
  uint64_t redistributors_size = 0;
};

struct GuestDtbSpec {
  mm::IntermediatePhysAddr ram_base = qemu_virt::kRamBase;
  uint64_t ram_size = 0;  // bytes, a non-zero multiple of 4 KiB
  // cpu@0..cpu@vcpus-1, reg = vCPU index (MPIDR Aff0), enable-method "psci".
  uint32_t vcpus = 1;
  const char* bootargs = nullptr;                         // nullptr: no /chosen/bootargs
  mm::IntermediatePhysAddr initrd;                        // must lie inside guest RAM
  uint64_t initrd_size = 0;                               // 0: no initrd (no linux,initrd-start/end)
  mm::IntermediatePhysAddr uart = qemu_virt::kPl011Base;  // the emulated PL011; stdout-path
  uint32_t uart_spi = qemu_virt::kPl011Spi;
  // Taken from the host DT's /timer (host_timer_interrupts()). With a GICv2
  // the PPIs' CPU mask (flags[15:8]) is rewritten to the guest's vCPUs, as
  // QEMU does for its own machine; otherwise the cells are copied verbatim.
  TimerInterrupts timer = kQemuVirtTimerInterrupts;
  GuestGicSpec gic;
  bool has_test_device = false;  // a "lamina,test-device" node, reg 4 KiB
  mm::IntermediatePhysAddr test_device;
  // Devices passed through (nullptr or empty: none), with the host DTB their
  // nodes are in (hyp/vm/guest_dtb_passthrough.cpp). Built trees get copies
  // of their nodes; a user's tree loses the device nodes the VM does not own.
  const void* host_fdt = nullptr;
  const PassthroughPlan* passthrough = nullptr;
};

enum class GuestDtbErrorCode : uint8_t {
  kBadBuffer,       // the output buffer is null or not 8-byte aligned
  kBufferTooSmall,  // the tree does not fit in the output buffer
  kBadSpec,         // the spec is inconsistent (`what` names the field)
  kBadUserDtb,      // the user's guest DTB failed libfdt's checks or cannot be patched
  kBadHostDtb,      // host_timer_interrupts: the host DT's timer is unusable
  kLibfdt,          // libfdt failed in a way lamina does not expect
};

// What went wrong: `what` names the spec field, node or property (a static
// string); `libfdt_error` is libfdt's negative FDT_ERR_* when libfdt said it.
struct GuestDtbError {
  GuestDtbErrorCode code = GuestDtbErrorCode::kLibfdt;
  const char* what = nullptr;
  const char* detail = nullptr;
  int libfdt_error = 0;
};

// "guest DTB: <code name> (<what>): <detail> [libfdt: <fdt_strerror>]"
// (parts omitted when absent; always NUL-terminated, truncated to buf_size).
void describe_guest_dtb_error(const GuestDtbError& e, char* buf, size_t buf_size);
[[nodiscard]] const char* guest_dtb_error_code_name(GuestDtbErrorCode code);

// Writes the guest's device tree from scratch into out[0, out_size) and
// returns its size (the header's totalsize, <= out_size). `out` must be
// 8-byte aligned (libfdt's requirement, and the arm64 boot protocol's for
// the blob in x0). On error the buffer's contents are unspecified.
// Errors: kBadBuffer; kBadSpec (vCPUs 0 or above kGuestDtbMaxVcpus, above 8
// with a GICv2; RAM empty, unaligned or wrapping; initrd outside RAM; a
// timer interrupt that is not a PPI; a UART SPI out of range; a GIC without
// its frames; an unaligned test device); kBufferTooSmall.
[[nodiscard]] Result<size_t, GuestDtbError> build_guest_dtb(const GuestDtbSpec& spec, void* out,
                                                            size_t out_size);

// Copies the user's guest DTB (user_size bytes may be read at user_dtb)
// into out[0, out_size), patches it and packs it; returns its size. Patched:
// every node with device_type "memory" is deleted and /memory@<ram_base> is
// added (reg in the root's #address-cells/#size-cells); /chosen (created if
// absent) gets spec.bootargs when not nullptr (else the user's stay) and
// linux,initrd-start/end when spec.initrd_size != 0 (else any stale ones are
// removed); the PSCI node (by compatible, else /psci; created as in
// build_guest_dtb if absent) gets method = "hvc". Nothing else is read from
// the spec. `out` must be 8-byte aligned and must not overlap the user DTB.
// Also (guest_dtb_passthrough.cpp, guest_dtb_user.cpp): ITS and GICv2m
// nodes and every msi-parent/msi-map are removed (guests get no MSI
// controller), and so is every device node at the root that the VM does not
// own (prune_user_devices); the CPUs are cut to the vCPUs
// (patch_user_cpus) and the GIC node becomes the vGIC's (patch_user_gic).
// Errors: kBadBuffer; kBadSpec (RAM, initrd); kBadUserDtb (fdt_check_full
// failed: libfdt_error says why; or root cells too narrow for the RAM);
// kBufferTooSmall.
[[nodiscard]] Result<size_t, GuestDtbError> patch_guest_dtb(const void* user_dtb, size_t user_size,
                                                            const GuestDtbSpec& spec, void* out,
                                                            size_t out_size);

// The host DT's architected-timer interrupts (the first enabled
// arm,armv8-timer or arm,armv7-timer node; its first four specifiers), for
// GuestDtbSpec::timer. `host_fdt` is the host DTB, at most kMaxDtbSize bytes
// (it is validated again here). Errors: kBadHostDtb (no timer node, an
// interrupt parent without 3-cell specifiers, not 4 or 5 specifiers).
[[nodiscard]] Result<TimerInterrupts, GuestDtbError> host_timer_interrupts(const void* host_fdt);

// --- passthrough (hyp/vm/guest_dtb_passthrough.cpp) -------------------------

// Writes the nodes of spec.passthrough's devices, copied from
// spec.host_fdt, into the tree `fdt` that build_guest_dtb is writing
// (libfdt sequential-write mode, inside the root after its properties),
// and a gpio-keys node whose every GPIO is on a copied controller; each
// node once, in the reverse of the property's order, gpio-keys first.
// Properties as they are, except interrupt-parent (`gic_phandle`, the
// guest's GIC, whose #address-cells is 0), clocks (a host fixed clock of
// QEMU's apb-pclk rate becomes `clock_phandle`, the guest's apb-pclk),
// interrupt-map (parent phandle the guest's GIC, no parent unit address),
// phandle (renumbered; gpios follow), and msi-parent/msi-map/msi-map-mask,
// iommus/iommu-map (dropped: no ITS, no IOMMU for guests). Nothing without
// devices. Errors: kBadSpec (devices without a guest GIC), kBadHostDtb (a
// clock that is not the apb-pclk, a phandle the copy cannot follow, more
// gpio-keys or keys than lamina copies), kBufferTooSmall.
[[nodiscard]] Result<Ok, GuestDtbError> write_passthrough_nodes(const GuestDtbSpec& spec, void* fdt,
                                                                uint32_t gic_phandle, uint32_t clock_phandle);

// A user's tree (open, with room): removes ITS/GICv2m nodes and MSI
// properties, and every child of the root with `reg` that is not memory, an
// interrupt controller, the virtual UART, the test device or a device whose
// pages the VM owns (so the guest does not probe hardware it cannot reach),
// then gpio-keys nodes whose GPIO controller is gone.
[[nodiscard]] Result<Ok, GuestDtbError> prune_user_devices(const GuestDtbSpec& spec, void* fdt);

// --- a user's tree against the VM (hyp/vm/guest_dtb_user.cpp) -----------------

// /cpus: cpu nodes whose reg is not a vCPU's MPIDR (0 .. spec.vcpus - 1) are
// removed (and /cpus/cpu-map with them, whose phandles would dangle); each
// vCPU's node gets enable-method "psci" (cpu-release-addr removed). A tree
// without /cpus is left alone. Errors: kBadUserDtb (a vCPU without a cpu
// node).
[[nodiscard]] Result<Ok, GuestDtbError> patch_user_cpus(const GuestDtbSpec& spec, void* fdt);

// The GIC node (the root's interrupt-parent, else the first GIC by
// compatible) becomes the vGIC's: compatible and reg as build_guest_dtb
// writes them (GICv3: #redistributor-regions 1, no redistributor-stride);
// name, phandle and other properties stay. spec.gic.version kNone: no
// change. Errors: kBadUserDtb (no GIC node; root cells other than 2/2).
[[nodiscard]] Result<Ok, GuestDtbError> patch_user_gic(const GuestDtbSpec& spec, void* fdt);

}  // namespace lamina::hyp
