#include "hyp/vm_boot.hpp"

#include <span>

#include "arch/sysreg.hpp"
#include "hyp/cpu/el2_config.hpp"
#include "hyp/dev/test_device.hpp"
#include "hyp/dev/vpl011.hpp"
#include "hyp/exit.hpp"
#include "hyp/guest_console.hpp"
#include "hyp/guest_memory.hpp"
#include "hyp/host_security.hpp"
#include "hyp/log.hpp"
#include "hyp/passthrough.hpp"
#include "hyp/percpu.hpp"
#include "hyp/power.hpp"
#include "hyp/gic_host.hpp"
#include "hyp/vgic_el2.hpp"
#include "hyp/vm.hpp"
#include "hyp/vm/guest_dtb.hpp"
#include "mm/stage2_geometry.hpp"
#include "mm/vmid_allocator.hpp"

namespace lamina::hyp {

namespace {

Vm g_vms[kMaxVms];
size_t g_vm_count = 0;
mm::VmidAllocator g_vmids;
PsciConduit g_conduit = PsciConduit::kNone;

// The virtual UART's bytes go to the shared console.
void uart_tx(void* context, uint8_t byte) { guest_console_putc(*static_cast<Vm*>(context), static_cast<char>(byte)); }
// Typed input for the virtual UART comes from guest_console_receive
// (hyp/guest_console.hpp). Where input is
// polled, the console is looked at most every 1/kRxPollsPerSecond of
// counter time while the guest reads an empty FIFO (a guest waiting for
// input reads its flags in a loop), which a typist cannot tell from instant.
constexpr uint64_t kRxPollsPerSecond = 1000;

bool add_mmio(Vm& vm, mm::IntermediatePhysAddr base, MmioDevice* device, uint64_t ExitStats::*counter,
              uint64_t size, bool vgic = false) {
  if (vm.mmio_count == Vm::kMaxMmioRegions) return false;
  vm.mmio[vm.mmio_count++] = MmioRegion{base, size, device, nullptr, counter, vgic};
  return true;
}

bool add_banked_vgic_mmio(Vm& vm, mm::IntermediatePhysAddr base, BankedMmioDevice* device, uint64_t size) {
  if (vm.mmio_count == Vm::kMaxMmioRegions) return false;
  vm.mmio[vm.mmio_count++] = MmioRegion{base, size, nullptr, device, &ExitStats::mmio_gic, true};
  return true;
}

// The guest's virtual GIC frames (qemu_virt layout): GICv3 GICD + GICR,
// GICv2 GICD + GICC. Their extent, for the overlap checks.
struct GuestGicFrames {
  mm::IntermediatePhysAddr first;
  uint64_t first_size = 0;
  mm::IntermediatePhysAddr second;
  uint64_t second_size = 0;
};

GuestGicFrames guest_gic_frames(uint32_t vcpus) {
  if (gic_host_version() == GicVersion::kV2)
    return {qemu_virt::kGicdBase, qemu_virt::kGicdV2Size, qemu_virt::kGiccBase, qemu_virt::kGiccSize};
  return {qemu_virt::kGicdBase, qemu_virt::kGicdSize, qemu_virt::kGicrBase,
          vgic::VgicV3Redistributors::region_size(vcpus)};
}

// The host GICV frame pages behind the guest's 8 KiB GICC window. Usually
// the frame's first 8 KiB. A GIC-400 integrated with every 4 KiB page
// aliased over 64 KiB (a GICV region of 128 KiB; some server SoCs do this,
// Linux's KVM handles it the same way) has page 0 repeated up to +0xf000
// and page 1 from +0x10000: the 8 KiB at +0xf000 are then pages 0 and 1.
// (The Raspberry Pi 4's GIC-400 has a plain 8 KiB GICV at 0xff846000.)
constexpr uint64_t kAliasedGicvSize = 0x20000;
constexpr uint64_t kAliasedGicvPage0 = 0xf000;

mm::PhysAddr guest_gicc_backing(const mm::PhysRange& gicv) {
  if (gicv.size >= kAliasedGicvSize) return gicv.base.offset(kAliasedGicvPage0);
  return gicv.base;
}

// A GICv2 host: the distributor model at the guest's GICD, the host's GICV
// frame at its GICC (device memory, stage 2), so the guest's CPU-interface
// accesses (acknowledge, EOI, PMR) go to its virtual CPU interface without
// an exit.
bool attach_vgic_v2(Vm& vm) {
  const mm::PhysRange& gicv = gic_host_desc().vcpu_interface;
  if (gicv.size < qemu_virt::kGiccSize || !gicv.base.is_aligned(mm::kPageSize)) {
    LOG_ERROR("vm {}: the host's GICV frame {} is smaller than the {:x} bytes of a GICC or not page-aligned",
              vm.name(), gicv, qemu_virt::kGiccSize);
    return false;
  }
  if (auto r = vm.stage2.map(qemu_virt::kGiccBase, guest_gicc_backing(gicv), qemu_virt::kGiccSize, mm::kS2GuestDevice);
      !r.ok()) {
    LOG_ERROR("vm {}: cannot map the GICV frame at its GICC address: {}", vm.name(), mm::error_name(r.error()));
    return false;
  }
  return add_banked_vgic_mmio(vm, qemu_virt::kGicdBase, &vm.gicd_v2, qemu_virt::kGicdV2Size);
}

bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
  return a < b + b_size && b < a + a_size;
}

// Maps all of the VM's RAM now (lamina,map-eagerly): scrubbed up front.
bool map_all_ram(Vm& vm) {
  for (size_t i = 0; i < vm.ram.segment_count(); ++i) {
    const RamSegment& s = vm.ram.segment(i);
    scrub_guest_ram(vm, s.ipa, s.size);
    if (auto r = vm.stage2.map(s.ipa, s.pa, s.size, mm::kS2GuestRam); !r.ok()) {
      LOG_ERROR("vm {}: cannot map its RAM: {}", vm.name(), mm::error_name(r.error()));
      return false;
    }
  }
  return true;
}

bool build_dtb(Vm& vm, const VmDescription& d, const void* host_fdt) {
  GuestDtbSpec spec;
  spec.ram_base = vm.ram.base();
  spec.ram_size = d.memory_bytes;
  spec.vcpus = d.vcpus;
  spec.bootargs = d.bootargs;
  spec.initrd = vm.plan.initrd;
  spec.initrd_size = vm.plan.initrd_size;
  spec.uart = kGuestUartBase;
  spec.uart_spi = kGuestUartSpi;
  if (auto timer = host_timer_interrupts(host_fdt); timer.ok()) spec.timer = timer.value();
  spec.has_test_device = d.has_test_device;
  spec.test_device = d.test_device;
  spec.host_fdt = host_fdt;
  spec.passthrough = &vm.desc.passthrough;
  if (gic_host_ready()) {
    const GuestGicFrames frames = guest_gic_frames(d.vcpus);
    spec.gic.version = gic_host_version();
    spec.gic.distributor = frames.first;
    spec.gic.distributor_size = frames.first_size;
    if (spec.gic.version == GicVersion::kV2) {
      spec.gic.cpu_interface = frames.second;
      spec.gic.cpu_interface_size = frames.second_size;
    } else {
      spec.gic.redistributors = frames.second;
      spec.gic.redistributors_size = frames.second_size;
    }
  }

  const uint64_t slot = vm.plan.dtb_size;
  auto frames = alloc_host_frames(slot / mm::kPageSize);
  if (!frames.ok()) {
    LOG_ERROR("vm {}: no memory for its device tree", vm.name());
    return false;
  }
  void* out = mm::to_ptr<void>(mm::to_va(frames.value()));
  auto size = d.has_dtb() ? patch_guest_dtb(mm::to_ptr<const void>(mm::to_va(d.dtb.base)), d.dtb.size, spec, out, slot)
                          : build_guest_dtb(spec, out, slot);
  if (!size.ok()) {
    char message[256];
    describe_guest_dtb_error(size.error(), message, sizeof(message));
    LOG_ERROR("vm {}: {}", vm.name(), message);
    return false;
  }
  vm.dtb = {frames.value(), size.value()};
  return true;
}

// The VM's RAM and its scrub bitmap. With passthrough devices, which do DMA
// with the addresses the guest gives them (no IOMMU), a direct map: one run
// at IPA = PA, 1 GiB aligned if the host has one, else 2 MiB.
bool allocate_ram(Vm& vm, const VmDescription& d) {
  mm::Error error = mm::Error::kNoMemory;
  bool backed = false;
  if (d.passthrough.empty()) {
    auto r = vm.ram.allocate(kGuestRamBase, d.memory_bytes, guest_frame_source());
    backed = r.ok();
    if (!backed) error = r.error();
  } else {
    for (const uint64_t align : {uint64_t{1} << 30, uint64_t{2} << 20}) {
      auto r = vm.ram.allocate_direct(d.memory_bytes, align, guest_frame_source());
      backed = r.ok();
      if (backed) break;
      error = r.error();
    }
  }
  if (!backed) {
    LOG_ERROR("vm {}: cannot back {} MiB of guest RAM{}: {}", d.name, d.memory_bytes >> 20,
              d.passthrough.empty() ? "" : " (one contiguous run, for its passthrough devices)",
              mm::error_name(error));
    return false;
  }
  const uint64_t bitmap_bytes = vm.ram.scrub_bitmap_words() * sizeof(uint64_t);
  auto bitmap = alloc_host_frames(mm::align_up(bitmap_bytes, mm::kPageSize) / mm::kPageSize);
  if (!bitmap.ok()) {
    LOG_ERROR("vm {}: no memory for its RAM bookkeeping", d.name);
    return false;
  }
  auto* words = mm::to_ptr<uint64_t>(mm::to_va(bitmap.value()));
  __builtin_memset(words, 0, bitmap_bytes);
  vm.ram.set_scrub_bitmap(words);
  return true;
}

// Everything but the vCPUs' CPUs; false (after a message) refuses the VM.
bool create_vm(Vm& vm, const VmDescription& d, const void* host_fdt,
               const CpuFeatures& features, const HostSecurity& host) {
  vm.desc = d;
  const unsigned ipa_bits = d.ipa_bits != 0 ? d.ipa_bits : default_ipa_bits(features);
  auto geometry = mm::stage2_geometry_for(features.parange, ipa_bits);
  if (!geometry.ok()) {
    LOG_ERROR("vm {}: a {}-bit guest address space is impossible on this CPU: {}", d.name, ipa_bits,
              mm::geometry_error_name(geometry.error()));
    return false;
  }
  vm.ipa_bits = geometry.value().ipa_bits;
  const uint64_t ipa_limit = uint64_t{1} << vm.ipa_bits;
  if (!d.passthrough.empty() && d.memory_bytes > ipa_limit) {
    LOG_ERROR("vm {}: {} MiB of RAM do not fit a {}-bit guest address space", d.name, d.memory_bytes >> 20,
              vm.ipa_bits);
    return false;
  }
  if (d.passthrough.empty() && d.memory_bytes > ipa_limit - kGuestRamBase.value()) {
    LOG_ERROR("vm {}: {} MiB of RAM at {:x} does not fit a {}-bit guest address space", d.name,
              d.memory_bytes >> 20, kGuestRamBase.value(), vm.ipa_bits);
    return false;
  }
  if (!allocate_ram(vm, d)) return false;
  if (vm.ram.base().value() + d.memory_bytes > ipa_limit) {
    LOG_ERROR("vm {}: its direct-mapped RAM at {:x} ({} MiB) lies beyond its {}-bit guest address space", d.name,
              vm.ram.base().value(), d.memory_bytes >> 20, vm.ipa_bits);
    return false;
  }
  const mm::IntermediatePhysAddr ram_base = vm.ram.base();
  if (d.has_test_device &&
      (ranges_overlap(d.test_device.value(), kGuestTestDeviceSize, ram_base.value(), d.memory_bytes) ||
       ranges_overlap(d.test_device.value(), kGuestTestDeviceSize, kGuestUartBase.value(), kGuestPl011Size))) {
    LOG_ERROR("vm {}: lamina,test-device at {:x} overlaps its RAM or its UART", d.name, d.test_device.value());
    return false;
  }
  const GuestGicFrames gic_frames = guest_gic_frames(d.vcpus);
  if (d.has_test_device && gic_host_ready() &&
      (ranges_overlap(d.test_device.value(), kGuestTestDeviceSize, gic_frames.first.value(), gic_frames.first_size) ||
       ranges_overlap(d.test_device.value(), kGuestTestDeviceSize, gic_frames.second.value(),
                      gic_frames.second_size))) {
    LOG_ERROR("vm {}: lamina,test-device at {:x} overlaps its virtual GIC", d.name, d.test_device.value());
    return false;
  }

  const std::span<const uint8_t> kernel(mm::to_ptr<const uint8_t>(mm::to_va(d.kernel.base)), d.kernel.size);
  auto plan = plan_guest_boot(kernel, d.ramdisk.size, ram_base, d.memory_bytes);
  if (!plan.ok()) {
    LOG_ERROR("vm {}: kernel at {} refused: {}", d.name, d.kernel.base, payload_error_name(plan.error()));
    return false;
  }
  vm.plan = plan.value();

  vm.id_policy = id_register_policy(vm.ipa_bits);
  // A virtual GICv3's CPU interface is ICH-backed (ID_AA64PFR0_EL1.GIC = 1);
  // a virtual GICv2's is the memory-mapped GICV (GIC = 0).
  vm.id_policy.gic_sysreg = gic_host_version() == GicVersion::kV3;
  vm.pstate_features =
      guest_pstate_features(arch::read<arch::IdAa64Pfr1>().raw(), arch::read<arch::IdAa64Mmfr1>().raw(),
                            arch::read<arch::IdAa64Mmfr2>().raw(), vm.id_policy);
  compute_guest_id_registers(vm);
  vm.fwb = features.s2fwb;
  vm.hcr = guest_hcr_el2(vm.fwb).raw();
  vm.mdcr = guest_mdcr_el2(arch::read<arch::PmcrEl0>().get(arch::PmcrEl0::n)).raw();
  vm.vtcr = vtcr_el2_value(geometry.value(), features).raw();
  // The walk the MMU will do for this VM, with the VTCR_EL2 fields that
  // select it, so that a test can check both (DDI 0487 K.a D8.2.7, Table
  // D8-16 "Stage 2 translation: 4KB granule, start level and concatenation").
  {
    const mm::Stage2Geometry& g = geometry.value();
    const auto vtcr = arch::VtcrEl2::from_raw(vm.vtcr);
    LOG_INFO("vm {}: stage 2: IPA {} bits, {} levels from level {}, {} root table{} (VTCR_EL2 T0SZ {} SL0 {})", d.name,
             g.ipa_bits, g.levels, g.start_level, g.concatenated_tables, g.concatenated_tables == 1 ? "" : "s",
             vtcr.get(arch::VtcrEl2::t0sz), vtcr.get(arch::VtcrEl2::sl0));
  }
  auto vmid = g_vmids.alloc();
  if (!vmid.ok()) {
    LOG_ERROR("vm {}: no VMID left: {}", d.name, mm::error_name(vmid.error()));
    return false;
  }
  mm::Stage2::Config config;
  config.geometry = geometry.value();
  config.codec = mm::S2CodecConfig{vm.fwb, features.xnx};
  config.vmid = vmid.value();
  config.cnp = features.cnp;
  if (auto r = vm.stage2.init(config, stage2_table_memory()); !r.ok()) {
    LOG_ERROR("vm {}: no memory for its stage-2 tables", d.name);
    return false;
  }

  if (!build_dtb(vm, d, host_fdt)) return false;

  vm.uart_poll_interval = arch::read<arch::CntfrqEl0>().value() / kRxPollsPerSecond;
  vm.uart.attach(uart_tx, guest_console_receive, &vm);
  if (!add_mmio(vm, kGuestUartBase, &vm.uart, &ExitStats::mmio_uart, kGuestPl011Size)) return false;
  vm.mmio[vm.mmio_count - 1].uart = true;  // its interrupt line follows each access
  if (d.has_test_device && !add_mmio(vm, d.test_device, &vm.test_device, &ExitStats::mmio_test, kGuestTestDeviceSize))
    return false;
  if (gic_host_version() == GicVersion::kV2) {
    if (!vgic_create(vm) || !attach_vgic_v2(vm)) return false;
  } else if (gic_host_ready()) {
    if (!vgic_create(vm)) return false;
    if (!add_mmio(vm, qemu_virt::kGicdBase, &vm.gicd, &ExitStats::mmio_gic, qemu_virt::kGicdSize,
                  true) ||
        !add_mmio(vm, qemu_virt::kGicrBase, &vm.gicr, &ExitStats::mmio_gicr,
                  vgic::VgicV3Redistributors::region_size(d.vcpus), true))
      return false;
  }

  uint64_t mpidrs[kPsciMaxVcpus];
  for (uint32_t i = 0; i < d.vcpus; ++i) mpidrs[i] = i;
  auto psci = PsciServer::create(std::span<const uint64_t>(mpidrs, d.vcpus), 0, host);
  if (!psci.ok()) {
    LOG_ERROR("vm {}: PSCI setup failed", d.name);
    return false;
  }
  vm.psci = psci.value();
  if (!passthrough_map(vm)) return false;
  if (d.map_eagerly && !map_all_ram(vm)) return false;
  LOG_INFO("vm {}: {} vCPU{}, {} MiB RAM in {} piece{}, {}-bit IPA, {} kernel, entry {:x}, DT at {:x}{}", d.name,
           d.vcpus, d.vcpus == 1 ? "" : "s", d.memory_bytes >> 20, vm.ram.segment_count(),
           vm.ram.segment_count() == 1 ? "" : "s", vm.ipa_bits, payload_kind_name(vm.plan.kind), vm.plan.entry.value(),
           vm.plan.dtb.value(), d.map_eagerly ? ", RAM mapped eagerly" : "");
  return true;
}

}  // namespace

Vm* vm_table() { return g_vms; }
size_t vm_count() { return g_vm_count; }
PsciConduit host_psci_conduit() { return g_conduit; }

bool create_vms(const VmDescriptions& descs, const Platform& platform, const void* host_fdt,
                const CpuFeatures& features, size_t online_cpus) {
  g_conduit = platform.psci.conduit;
  uint32_t wanted = 0;
  for (size_t i = 0; i < descs.count; ++i) wanted += descs.vms[i].vcpus;
  if (wanted > online_cpus) {
    LOG_ERROR("the VMs ask for {} vCPUs but only {} CPUs are online: vCPUs are pinned one to one on CPUs "
              "(give QEMU more CPUs, or the VMs fewer vCPUs)",
              wanted, online_cpus);
    return false;
  }
  if (auto r = g_vmids.init(features.vmid_bits); !r.ok()) {
    LOG_ERROR("VMID width {} bits: {}", features.vmid_bits, mm::error_name(r.error()));
    return false;
  }
  const HostSecurity host = probe_host_security(platform.psci.conduit);

  size_t next_cpu = 0;
  auto take_cpu = [&next_cpu]() -> PerCpu& {
    // The boot CPU first, then every secondary that came online.
    while (next_cpu != 0 && g_percpu[next_cpu].state.load(std::memory_order_acquire) != CpuState::kOnline) ++next_cpu;
    return g_percpu[next_cpu++];
  };
  for (size_t i = 0; i < descs.count; ++i) {
    Vm& vm = g_vms[g_vm_count];
    vm.index = static_cast<uint32_t>(g_vm_count);
    if (!create_vm(vm, descs.vms[i], host_fdt, features, host)) {
      LOG_ERROR("vm {}: not started", descs.vms[i].name);
      continue;
    }
    for (uint32_t v = 0; v < vm.vcpu_count(); ++v) vm.vcpu(v).init(&vm, v, &take_cpu());
    // Its devices' SPIs go to vCPU 0's CPU, known only now.
    if (!passthrough_route(vm)) {
      LOG_ERROR("vm {}: not started", descs.vms[i].name);
      passthrough_stop(vm);
      return false;
    }
    ++g_vm_count;
  }
  set_power_policy(g_vm_count, platform.psci.conduit);
  set_guest_console_vms(g_vm_count);
  for (size_t i = 0; i < g_vm_count; ++i) {
    Vm& vm = g_vms[i];
    if (!vm.load_payload()) {
      LOG_ERROR("vm {}: its payload does not fit its RAM: not started", vm.name());
      note_vm_stopped();
    }
  }
  // Publish each CPU's vCPU only now that every VM is complete.
  for (size_t i = 0; i < g_vm_count; ++i)
    for (uint32_t v = 0; v < g_vms[i].vcpu_count(); ++v)
      g_vms[i].vcpu(v).cpu().vcpu.store(&g_vms[i].vcpu(v), std::memory_order_release);
  return true;
}

}  // namespace lamina::hyp
