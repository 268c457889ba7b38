// Stage-2 aborts: the faulting IPA (HPFAR_EL2 + FAR_EL2) decides the route.
//   RAM            -> map the block around it on demand and retry the
//                     instruction (also when the guest's own stage-1 walk
//                     faulted: S1PTW);
//   emulated device-> decode the access from the ISS, call the model, write
//                     back a load's result, skip the instruction; an access
//                     the ISS cannot describe (ISV = 0) gets an external
//                     abort;
//   anything else  -> a synchronous external abort into the guest, as the
//                     hardware would deliver it without lamina.
#include "arch/sysreg.hpp"
#include "hyp/exit.hpp"
#include "hyp/lib/mmio_access.hpp"
#include "hyp/log.hpp"
#include "hyp/percpu.hpp"
#include "hyp/vgic_el2.hpp"
#include "hyp/vm.hpp"
#include "mm/fault_ipa.hpp"

namespace lamina::hyp {

namespace {

// DFSC/IFSC groups (DDI 0487 K.a D23.2 "ESR_EL2", ISS for aborts): 0b0001xx
// translation faults, 0b0010xx access flag faults, 0b0011xx permission
// faults; xx is the level.
constexpr uint8_t kFaultStatusGroupMask = 0b111100;
constexpr uint8_t kTranslationFault = 0b000100;
constexpr uint8_t kAccessFlagFault = 0b001000;

bool is_missing_mapping(uint8_t fsc) {
  const uint8_t group = fsc & kFaultStatusGroupMask;
  return group == kTranslationFault || group == kAccessFlagFault;
}

// AAPCS64: x19-x29 are callee-saved, so the fast lane has not saved them and
// declines accesses to them; x30 (the link register) it saved.
constexpr uint8_t kFirstCalleeSavedRegister = 19;
constexpr uint8_t kLinkRegister = 30;

// Logs at most this many ISV = 0 MMIO accesses per VM, then stays quiet:
// a guest cannot flood the console.
constexpr uint32_t kIsv0LogLimit = 8;
uint32_t g_isv0_logged[kMaxVms];

[[gnu::cold, gnu::noinline]] ExitAction fault_in_failed(Vcpu& vcpu, mm::IntermediatePhysAddr ipa, mm::Error error,
                                                       arch::EsrEl2 esr) {
  LOG_ERROR("vm {}: cannot map RAM at {:x}: {}", vcpu.vm().name(), ipa.value(), mm::error_name(error));
  return stop_vm_on_fault(vcpu, "out of memory for its stage-2 tables", esr);
}

ExitAction fault_in(Vcpu& vcpu, mm::IntermediatePhysAddr ipa, arch::EsrEl2 esr) {
  auto mapped = vcpu.vm().fault_in(ipa);
  if (!mapped.ok()) return fault_in_failed(vcpu, ipa, mapped.error(), esr);
  switch (mapped.value()) {
    case 0: return ExitAction::kLeave;  // the VM is stopping or resetting
    case uint64_t{1} << 30: ++vcpu.stats.fault_in_1g; break;
    case uint64_t{1} << 21: ++vcpu.stats.fault_in_2m; break;
    default: ++vcpu.stats.fault_in_4k; break;
  }
  return ExitAction::kResume;
}

// An MMIO access the ISS cannot describe: an external abort for the guest,
// and a (rate-limited) line for the user. Out of line: the formatter's
// buffers would otherwise weigh on every emulated access's stack frame.
[[gnu::cold, gnu::noinline]] ExitAction undecodable_mmio(Vcpu& vcpu, MmioDecodeError error,
                                                        mm::IntermediatePhysAddr ipa, arch::EsrEl2 esr,
                                                        uint64_t far) {
  Vm& vm = vcpu.vm();
  if (g_isv0_logged[vm.index] < kIsv0LogLimit) {
    ++g_isv0_logged[vm.index];
    LOG_WARN("vm {}: vcpu{}: {} at pc {:x} to device IPA {:x} cannot be emulated (no instruction syndrome): "
             "external abort injected{}",
             vm.name(), vcpu.index(), error == MmioDecodeError::kNoSyndrome ? "access" : "stage-1 walk",
             vcpu.regs.pc, ipa.value(), g_isv0_logged[vm.index] == kIsv0LogLimit ? " (not logged again)" : "");
  }
  return inject_external_abort(vcpu, esr, far, false);
}

// A virtual GIC frame (full path only): the list registers go back into the
// model first (and are loaded again before the guest resumes), and the
// vGIC's own lock serializes the model. Out of line, so that the common
// path keeps no addressable locals (and no stack-protector check).
[[gnu::noinline]] ExitAction emulate_vgic_mmio(Vcpu& vcpu, const MmioRegion& region, arch::DataAbort abort,
                                               mm::IntermediatePhysAddr ipa, arch::EsrEl2 esr, uint64_t far) {
  const auto access = decode_mmio_access(abort, ipa);
  if (!access.ok()) return undecodable_mmio(vcpu, access.error(), ipa, esr, far);
  const MmioAccess& a = access.value();
  ++(vcpu.stats.*region.counter);
  const uint64_t offset = a.ipa.minus(region.base);
  Vm& vm = vcpu.vm();
  vgic_sync_from_guest(vcpu);
  const bool locked = vm.vgic_lock.lock(this_cpu().index);
  MmioResult result;
  if (a.is_write) {
    const uint64_t value = mmio_store_value(a, guest_reg(vcpu, a.reg));
    result = region.banked != nullptr ? region.banked->write(vcpu.index(), offset, a.width_bytes, value)
                                      : region.device->write(offset, a.width_bytes, value);
  } else {
    result = region.banked != nullptr ? region.banked->read(vcpu.index(), offset, a.width_bytes, &vcpu.mmio_value)
                                      : region.device->read(offset, a.width_bytes, &vcpu.mmio_value);
    if (result == MmioResult::kOk) set_guest_reg(vcpu, a.reg, mmio_load_result(a, vcpu.mmio_value));
  }
  if (locked) vm.vgic_lock.unlock();
  if (result != MmioResult::kOk) return inject_external_abort(vcpu, esr, far, false);
  skip_instruction(vcpu, esr);
  return ExitAction::kResume;
}

// The device models every VM has are called by their type (a direct call
// the compiler can see), the rest through MmioDevice's virtual functions.
// The vPL011 and the test device are the regions a guest touches most
// (a console driver polls UARTFR and writes UARTDR for every character).
[[gnu::always_inline]] inline MmioResult device_read(Vm& vm, const MmioRegion& region, uint64_t offset,
                                                     unsigned width_bytes, uint64_t* value) {
  if (region.uart) return vm.uart.read(offset, width_bytes, value);
  if (region.device == &vm.test_device) return vm.test_device.read(offset, width_bytes, value);
  return region.device->read(offset, width_bytes, value);
}

[[gnu::always_inline]] inline MmioResult device_write(Vm& vm, const MmioRegion& region, uint64_t offset,
                                                      unsigned width_bytes, uint64_t value) {
  if (region.uart) return vm.uart.write(offset, width_bytes, value);
  if (region.device == &vm.test_device) return vm.test_device.write(offset, width_bytes, value);
  return region.device->write(offset, width_bytes, value);
}

[[gnu::cold, gnu::noinline]] ExitAction mmio_aborted(Vcpu& vcpu, arch::EsrEl2 esr, uint64_t far) {
  return inject_external_abort(vcpu, esr, far, false);
}

// An access to the non-vGIC `region` whose syndrome is valid (ISV set,
// S1PTW clear: the caller checked). It is decoded here, where its fields
// are used: as an argument the MmioAccess would be packed and unpacked.
// Inlined into the lane: no call, and no DataAbort to pass through memory.
[[gnu::always_inline]] inline ExitAction emulate_valid_mmio(Vcpu& vcpu, const MmioRegion& region,
                                                            arch::DataAbort abort, mm::IntermediatePhysAddr ipa,
                                                            arch::EsrEl2 esr, uint64_t far) {
  ++(vcpu.stats.*region.counter);
  const uint64_t offset = ipa.minus(region.base);
  const unsigned width_bytes = abort.access_bytes();
  MmioResult result;
  Vm& vm = vcpu.vm();
  // The models are not thread-safe; a VM with one vCPU needs no lock (the
  // console's input reaches its vPL011 only on the CPU of its vCPU 0:
  // hyp/guest_console.cpp deliver_input).
  const bool shared = vm.vcpu_count() > 1;
  const bool locked = shared && vm.mmio_lock.lock(this_cpu().index);
  // The MmioAccess is built where it is used: kept across the device call
  // it would take registers (or be packed into one), the ISS is one.
  if (abort.is_write()) {
    const MmioAccess a = mmio_access_from_syndrome(abort, ipa);
    result = device_write(vm, region, offset, width_bytes, mmio_store_value(a, guest_reg(vcpu, a.reg)));
  } else {
    // The value lands in the vCPU, not in a local of this hot function
    // (whose address would cost it a stack-protector check).
    result = device_read(vm, region, offset, width_bytes, &vcpu.mmio_value);
    if (result == MmioResult::kOk) {
      const MmioAccess a = mmio_access_from_syndrome(abort, ipa);
      set_guest_reg(vcpu, a.reg, mmio_load_result(a, vcpu.mmio_value));
    }
  }
  // The vPL011's interrupt output may have changed (a transmit, a read of
  // the FIFO, UARTIMSC, UARTICR): SPI 1 follows. A change is rare (input
  // arrived and was read, the guest (un)masked); the vGIC then records it
  // and kicks the vCPUs concerned, this one included, whose list registers
  // (which a lane must not touch) are reloaded at the IRQ exit that follows.
  if (region.uart) update_uart_line(vm);
  if (locked) vm.mmio_lock.unlock();
  if (result != MmioResult::kOk) [[unlikely]] return mmio_aborted(vcpu, esr, far);
  skip_instruction(vcpu, esr);
  return ExitAction::kResume;
}

ExitAction emulate_mmio(Vcpu& vcpu, const MmioRegion& region, arch::DataAbort abort,
                        mm::IntermediatePhysAddr ipa, arch::EsrEl2 esr, uint64_t far) {
  if (region.vgic) [[unlikely]] return emulate_vgic_mmio(vcpu, region, abort, ipa, esr, far);
  if (const auto access = decode_mmio_access(abort, ipa); !access.ok())
    return undecodable_mmio(vcpu, access.error(), ipa, esr, far);
  return emulate_valid_mmio(vcpu, region, abort, ipa, esr, far);
}

}  // namespace

// The data-abort lane of hyp/guest_entry.S: x0-x18, x30, PC and PSTATE of
// `regs` are valid; x19-x29 too if `all_saved`, else they are still live in
// the CPU. Maps RAM on demand,
// and emulates an MMIO access whose register is among the saved ones;
// declines (1) anything else before touching anything, so that the full
// path can take it.
extern "C" LaneResult lamina_dabt_fast(GuestRegs* regs, uint64_t all_saved) {
  Vcpu& vcpu = *regs->vcpu;
  const arch::EsrEl2 esr = arch::read<arch::EsrEl2>();
  const auto abort = arch::DataAbort::from(esr);
  if (!abort.ok()) return {kLaneDeclined, regs};
  const uint64_t far = arch::read<arch::FarEl2>().value();
  const mm::IntermediatePhysAddr ipa = mm::faulting_ipa(arch::read<arch::HpfarEl2>(), far);
  const MmioRegion* region = vcpu.vm().find_mmio(ipa);
  if (region == nullptr) {
    // RAM not mapped yet touches no register either.
    if (!vcpu.vm().ram.contains(ipa) || !is_missing_mapping(abort.value().fault_status())) return {kLaneDeclined, regs};
    return {fault_in(vcpu, ipa, esr) == ExitAction::kResume ? kLaneResume : kLaneLeave, regs};
  }
  if (region->vgic || !abort.value().isv() || abort.value().s1ptw()) return {kLaneDeclined, regs};
  const uint8_t rt = abort.value().register_index();
  if (!all_saved && rt >= kFirstCalleeSavedRegister && rt != kLinkRegister && rt != kZeroRegister) return {kLaneDeclined, regs};
  if (arch::Spsr::from_raw(regs->pstate).get(arch::Spsr::nrw)) return {kLaneDeclined, regs};
  return {emulate_valid_mmio(vcpu, *region, abort.value(), ipa, esr, far) == ExitAction::kResume ? kLaneResume
                                                                                                     : kLaneLeave,
          regs};
}

ExitAction handle_data_abort(Vcpu& vcpu, arch::EsrEl2 esr) {
  const auto abort = arch::DataAbort::from(esr);
  if (!abort.ok()) return stop_vm_on_fault(vcpu, "data abort exit with a foreign syndrome", esr);
  const uint64_t far = arch::read<arch::FarEl2>().value();
  const mm::IntermediatePhysAddr ipa = mm::faulting_ipa(arch::read<arch::HpfarEl2>(), far);
  Vm& vm = vcpu.vm();
  // Devices first: once RAM is mapped, almost every data abort is MMIO.
  if (const MmioRegion* region = vm.find_mmio(ipa)) return emulate_mmio(vcpu, *region, abort.value(), ipa, esr, far);
  if (vm.ram.contains(ipa) && is_missing_mapping(abort.value().fault_status())) return fault_in(vcpu, ipa, esr);
  return inject_external_abort(vcpu, esr, far, false);
}

ExitAction handle_instruction_abort(Vcpu& vcpu, arch::EsrEl2 esr) {
  const auto abort = arch::InstructionAbort::from(esr);
  if (!abort.ok()) return stop_vm_on_fault(vcpu, "instruction abort exit with a foreign syndrome", esr);
  const uint64_t far = arch::read<arch::FarEl2>().value();
  const mm::IntermediatePhysAddr ipa = mm::faulting_ipa(arch::read<arch::HpfarEl2>(), far);
  if (vcpu.vm().ram.contains(ipa) && is_missing_mapping(abort.value().fault_status())) return fault_in(vcpu, ipa, esr);
  return inject_external_abort(vcpu, esr, far, true);
}

}  // namespace lamina::hyp
