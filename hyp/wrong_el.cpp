// Started below EL2 (QEMU without virtualization=on, or firmware that drops
// to EL1): a hypervisor cannot work there. Say so on the DT's console,
// naming the problem and the fix, then power off through PSCI so that QEMU
// exits instead of hanging. Runs at EL1 with the EL1 MMU on (boot/boot.cpp);
// uses no EL2 register, so the console is written directly, not via LOG_*.
#include <cstdint>

#include "arch/barrier.hpp"
#include "hyp/console.hpp"
#include "hyp/firmware.hpp"
#include "hyp/lib/format.hpp"
#include "hyp/platform/platform.hpp"

namespace lamina::hyp {

[[noreturn]] void wrong_exception_level(mm::PhysAddr dtb, uint64_t el) {
  const void* blob = mm::to_ptr<const void>(mm::to_va(dtb));
  (void)console::attach_from_device_tree(blob);

  char line[256];
  fmt::format(line, sizeof(line),
              "lamina: error: entered at EL{}, but lamina is a hypervisor and must be started at EL2.\n",
              el);
  console::write(line);
  console::write(
      "lamina: fix: on QEMU add virtualization=on to the machine (-M virt,virtualization=on);\n"
      "lamina:      with firmware or U-Boot, boot lamina at EL2 (do not drop to EL1 first).\n"
      "lamina: powering off.\n");

  auto psci = find_psci(blob);
  // Started at EL1, the firmware's PSCI is reached with HVC when the DT
  // says so; without a /psci node nothing can power the machine off.
  firmware::power_off(psci.ok() ? psci.value().conduit : PsciConduit::kNone);
}

}  // namespace lamina::hyp
