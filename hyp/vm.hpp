// A virtual machine: its stage-2 address space and VMID, its RAM, its
// emulated devices, its vCPUs, its PSCI state and its boot payload.
//
// Guest physical layout (mirrors QEMU virt, so programs built for it run
// unchanged): RAM at 0x4000_0000, the virtual PL011 at 0x0900_0000, on
// GICv3 hosts the virtual GICv3 (hyp/vgic_el2.hpp: GICD 0x0800_0000, GICR
// 0x080a_0000), on GICv2 hosts the virtual GICv2 (GICD 0x0800_0000, and at
// GICC 0x0801_0000 the host's GICV frame mapped through stage 2), the
// optional test device where the VM description puts it;
// every other IPA is a hole (an access gets a synchronous external abort).
//
// Lifecycle: kRunning -> kStopping (SYSTEM_OFF, the last CPU_OFF, an
// unrecoverable guest fault) -> kStopped; kRunning -> kResetting
// (SYSTEM_RESET) -> kRunning. Stopping and resetting first unmap all of
// stage 2, so every vCPU of the VM leaves the guest at its next memory
// access; the last vCPU to leave finishes the transition. EL2-only.
#pragma once

#include <atomic>
#include <cstdint>

#include "hyp/dev/test_device.hpp"
#include "hyp/dev/vpl011.hpp"
#include "hyp/guest_console.hpp"
#include "hyp/lib/psci_server.hpp"
#include "hyp/lib/spinlock.hpp"
#include "hyp/trap/fault_injection.hpp"
#include "hyp/trap/id_registers.hpp"
#include "hyp/vcpu.hpp"
#include "hyp/vgic/banked_mmio_device.hpp"
#include "hyp/vgic/vgic_state.hpp"
#include "hyp/vgic/vgic_v2_dist.hpp"
#include "hyp/vgic/vgic_v3_dist.hpp"
#include "hyp/vgic/vgic_v3_redist.hpp"
#include "hyp/vm/guest_dtb.hpp"
#include "hyp/vm/guest_payload.hpp"
#include "hyp/vm/guest_ram.hpp"
#include "hyp/vm/vm_description.hpp"
#include "mm/stage2.hpp"

namespace lamina::hyp {

// The guest platform's layout is QEMU virt's (hyp/vm/guest_dtb.hpp).
inline constexpr mm::IntermediatePhysAddr kGuestRamBase = qemu_virt::kRamBase;
inline constexpr mm::IntermediatePhysAddr kGuestUartBase = qemu_virt::kPl011Base;
inline constexpr uint32_t kGuestUartSpi = qemu_virt::kPl011Spi;

enum class VmState : uint8_t { kRunning, kStopping, kResetting, kStopped };

// An emulated device's window in the guest's IPA space.
struct MmioRegion {
  mm::IntermediatePhysAddr base;
  uint64_t size = 0;
  MmioDevice* device = nullptr;
  // Instead of `device`: a model whose registers depend on the accessing
  // vCPU (the GICv2 distributor); only for vgic regions.
  BankedMmioDevice* banked = nullptr;
  uint64_t ExitStats::*counter = nullptr;
  // A frame of the virtual GIC: emulated on the full path only (the list
  // registers are folded first and loaded again after), under vgic_lock
  // instead of mmio_lock.
  bool vgic = false;
  // The VM's vPL011: its interrupt line is updated after each access.
  bool uart = false;
};

class Vm {
 public:
  static constexpr size_t kMaxMmioRegions = 4;
  static constexpr uint32_t kIdRegisterCrms = 7;  // ID space CRm 1..7, op2 0..7

  Vm() = default;
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  [[nodiscard]] const char* name() const { return desc.name; }
  [[nodiscard]] uint32_t vcpu_count() const { return desc.vcpus; }
  [[nodiscard]] Vcpu& vcpu(uint32_t i) { return vcpus[i]; }
  [[nodiscard]] VmState state() const { return state_.load(std::memory_order_acquire); }
  // A linear search of at most kMaxMmioRegions, the vPL011 first (the
  // busiest), by pointer: the hit needs no index arithmetic.
  [[nodiscard]] const MmioRegion* find_mmio(mm::IntermediatePhysAddr ipa) const {
    for (const MmioRegion* r = mmio; r != mmio + mmio_count; ++r)
      if (ipa >= r->base && ipa.minus(r->base) < r->size) return r;
    return nullptr;
  }

  // Maps the RAM block around `ipa` (scrubbing it first). kOutOfRange when
  // `ipa` is not RAM. Returns the block size mapped, or 0 when the VM is no
  // longer running (the vCPU must leave).
  [[nodiscard]] Result<uint64_t, mm::Error> fault_in(mm::IntermediatePhysAddr ipa);

  // Starts the stop/reset of the whole VM (idempotent; the first reason
  // wins). Called from any of its vCPUs' CPUs.
  void begin_stop(const char* reason);
  void begin_reset();

  // A vCPU of this VM entered / left its run loop. The last to leave while
  // stopping or resetting completes it (returns true if it did).
  void vcpu_entered();
  void vcpu_left(Vcpu& vcpu);

  // Copies the pristine payload (kernel, initrd, DTB) into RAM and requests
  // the boot vCPU's start. At creation and after a reset.
  [[nodiscard]] bool load_payload();

  // First: the HVC/SMC lanes reach it from the VM's address with one ADD
  // (a 12-bit immediate).
  PsciServer psci;
  VmDescription desc{};
  uint32_t index = 0;
  GuestRam ram;
  mm::Stage2 stage2;
  uint64_t vtcr = 0;  // VTCR_EL2 while this VM runs
  uint64_t hcr = 0;   // HCR_EL2 while this VM runs
  uint64_t mdcr = 0;  // MDCR_EL2 while this VM runs
  // CNTVOFF_EL2 while this VM runs: the physical count when its current
  // boot began (creation, each SYSTEM_RESET), so its virtual counter starts
  // near 0 then, as a machine's counter does at reset, and reads the same on
  // every vCPU (DDI 0487 K.a D12.1.2: virtual count = physical count -
  // CNTVOFF_EL2). The EL1 physical counter (allowed) is not offset.
  uint64_t cntvoff = 0;
  unsigned ipa_bits = 0;
  bool fwb = false;
  IdRegisterPolicy id_policy;             // what its ID registers offer
  uint64_t id_registers[kIdRegisterCrms * 8] = {};  // their sanitized values
  GuestPstateFeatures pstate_features;    // ... and so what exception entry does
  SpinLock lock;       // PSCI, lifecycle, fault-in
  SpinLock mmio_lock;  // the device models (not thread-safe themselves)
  Vcpu vcpus[kPsciMaxVcpus];
  VirtualPl011 uart;
  bool uart_line = false;  // the level its UARTINTR last gave SPI 1 (with uart)
  uint64_t uart_poll_interval = 0;  // counter ticks between polls of the console (polled input)
  uint64_t uart_last_poll = 0;
  TestDevice test_device;
  bool has_vgic = false;  // a virtual GICv3 or GICv2 (the members at the end)
  MmioRegion mmio[kMaxMmioRegions];
  size_t mmio_count = 0;
  GuestBootPlan plan{};
  mm::PhysRange dtb;  // the pristine guest DTB lamina built (host memory)
  uint32_t resets = 0;

 private:
  void finish_stop();
  void finish_reset();
  void unmap_all();

  std::atomic<VmState> state_{VmState::kRunning};
  uint32_t active_vcpus_ = 0;
  const char* stop_reason_ = nullptr;

 public:
  // The virtual GIC (hyp/vgic_el2.hpp): the model, its MMIO views (GICv3
  // hosts: gicd and gicr; GICv2 hosts: gicd_v2) and the lock around every
  // call into them. Last in the VM: the model is about 35 KiB, and the
  // fields the exit path uses stay within reach of a load's immediate offset.
  SpinLock vgic_lock;
  vgic::VgicV3Distributor gicd;
  vgic::VgicV3Redistributors gicr;
  vgic::VgicV2Distributor gicd_v2;
  vgic::VgicState vgic;
};

// After anything that may change the vPL011's UARTINTR, with the VM's
// device models serialized: its SPI follows (hyp/guest_console.hpp). The
// level rarely changes, so the common case is a compare.
inline void update_uart_line(Vm& vm) {
  const bool level = vm.uart.interrupt_pending();
  if (level != vm.uart_line) [[unlikely]] guest_uart_line_changed(vm, level);
}

// Every VM, and how many exist (set up by hyp/vm_boot.cpp).
[[nodiscard]] Vm* vm_table();
[[nodiscard]] size_t vm_count();
// Whether lamina.stats asked for exit counters at VM stop.
void set_exit_stats_enabled(bool enabled);
// With lamina.stats: logs the physical counter as `vcpu` enters its guest and
// the CNTVOFF_EL2 it runs with, so that a guest's CNTVCT_EL0 readings can be
// turned back into time since machine reset (scripts/boot-bench).
void log_guest_entry(const Vcpu& vcpu);

}  // namespace lamina::hyp
