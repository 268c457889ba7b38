#include "hyp/power.hpp"

#include <atomic>

#include "arch/barrier.hpp"
#include "hyp/console.hpp"
#include "hyp/firmware.hpp"
#include "hyp/log.hpp"

namespace lamina::hyp {

namespace {
size_t g_vm_count = 0;
PsciConduit g_conduit = PsciConduit::kNone;
std::atomic<size_t> g_stopped{0};
}  // namespace

void set_power_policy(size_t vm_count, PsciConduit conduit) {
  g_vm_count = vm_count;
  g_conduit = conduit;
}

void note_vm_stopped() {
  if (g_stopped.fetch_add(1, std::memory_order_acq_rel) + 1 == g_vm_count) power_off_machine("every VM has stopped");
}

void power_off_machine(const char* why) {
  if (g_conduit == PsciConduit::kNone) {
    LOG_INFO("{}; no PSCI to power off with: halting", why);
    console::flush();
    arch::halt_cpu();
  }
  LOG_INFO("{}: powering off", why);
  console::flush();
  firmware::power_off(g_conduit);
}

}  // namespace lamina::hyp
