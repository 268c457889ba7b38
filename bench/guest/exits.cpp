// exits: the exit-cost benchmark guest (`make bench`, scripts/exit-bench).
//
// The same binary runs as a lamina guest and directly on QEMU at EL1 (the
// reference), both under -icount shift=0, where guest-visible time is an
// instruction count: one CNTVCT_EL0 tick is 10^9 / CNTFRQ_EL0 instructions
// (1 with -cpu max's 1 GHz counter). It times, per operation, a loop of the
// operation against the same loop without it (bench_loops.S), so the net
// figure is the operation's whole round trip, its own instruction
// included:
//   null-hvc                HVC #0, SMCCC_VERSION (answered with no side effect)
//   psci-version-smc        SMC #0, PSCI_VERSION (lamina: HCR_EL2.TSC); on bare
//                           QEMU at EL1 SMC is no PSCI conduit: "unavailable"
//   mmio-read-pl011         LDR of UARTFR (PL011 + 0x018)
//   mmio-write-pl011        STR of UARTILPR (PL011 + 0x020) with its own value
//   mmio-read-test-device   LDR/STR of lamina's test device scratch register
//   mmio-write-test-device  (+0x800), when the DT describes the device
//   idreg-read              MRS ID_AA64PFR0_EL1 (lamina: HCR_EL2.TID3)
//   fault-in-2m, -4k        the first store to each untouched 2 MiB block in
//                           the upper half of the 2 MiB-backed RAM, and to
//                           each 4 KiB page of the tail below 2 MiB
//   retouch-2m, -4k         a second store to the same addresses (no exit)
//
// The RAM layout follows lamina's backing rule: RAM = [base, base + size)
// is backed with 1 GiB-aligned runs, then 2 MiB-aligned runs, then 4 KiB
// pages for a tail shorter than 2 MiB. The guest refuses a RAM size that
// would contain a 1 GiB block (there would be no 2 MiB path to measure).
//
// Output, one line per operation (parsed by scripts/exit-bench):
//   BENCH <name> iterations=<ops> samples=<timed regions> ticks=<sum>
//         overhead_ticks=<sum for the empty kernel> min_ticks=<region>
//         max_ticks=<region> freq=<CNTFRQ_EL0> [result=0x<x0 or value read>]
//   BENCH <name> unavailable reason=<word>
//   BENCH-LAYOUT ram=<base>+<size> image=... dtb=... tail=<base>+<size>
//         pretouched_2m=<n> pretouched_4k=<n>
// where "pretouched" counts the blocks and pages the guest's image and DT
// occupy: they are faulted in before the measurement, so lamina's fault-in
// counters must equal pretouched + iterations of the fault-in lines.
#include "dt_lookup.hpp"
#include "guest.hpp"

extern const char kGuestName[] = "bench-exits";

extern "C" {
uint64_t bench_loop_empty(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_loop_fid(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_loop_hvc(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_loop_smc(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_loop_ldr32(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_loop_str32(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_loop_ldr64(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_loop_str64(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_loop_idreg(uint64_t iterations, uint64_t address, uint64_t value);
uint64_t bench_touch(uintptr_t address, uint64_t value);
uint64_t bench_touch_empty(uintptr_t address, uint64_t value);
extern char __image_start[];
extern char __image_end[];
}

namespace {

using namespace guest;

// 10 timed regions of 100 operations: 1000 operations per exit kind, after
// a warm-up (first-use paths, e.g. a device model's first access).
constexpr uint64_t kOpsPerSample = 100;
constexpr uint64_t kSamples = 10;
constexpr uint64_t kWarmupOps = 8;

constexpr uint64_t k4K = uint64_t{1} << 12;
constexpr uint64_t k2M = uint64_t{1} << 21;
constexpr uint64_t k1G = uint64_t{1} << 30;

// PL011 registers (Arm DDI 0183, 3.2 "Summary of registers"): UARTFR 0x018
// (read-only flags), UARTILPR 0x020 (IrDA low-power divisor: writing its
// own value back changes nothing, in QEMU's PL011 and in lamina's).
constexpr uintptr_t kUartFr = kPl011Base + 0x018;
constexpr uintptr_t kUartIlpr = kPl011Base + 0x020;
// lamina's test device: 64-bit scratch register at +0x800 (tests/guest/mmio.cpp).
constexpr char kTestDeviceCompatible[] = "lamina,test-device";
constexpr uint64_t kTestDeviceScratch = 0x800;

constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
constexpr bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
  return a < b + b_size && b < a + a_size;
}

struct Stats {
  uint64_t ops = 0;
  uint64_t samples = 0;
  uint64_t ticks = 0;
  uint64_t overhead = 0;
  uint64_t min = ~uint64_t{0};
  uint64_t max = 0;

  void add(uint64_t ops_in_sample, uint64_t t, uint64_t empty) {
    ops += ops_in_sample;
    ++samples;
    ticks += t;
    overhead += empty;
    if (t < min) min = t;
    if (t > max) max = t;
  }
};

void report(const char* op, const Stats& s, bool has_result = false, uint64_t result = 0) {
  printf("BENCH %s iterations=%lu samples=%lu ticks=%lu overhead_ticks=%lu min_ticks=%lu max_ticks=%lu freq=%lu", op,
         s.ops, s.samples, s.ticks, s.overhead, s.samples != 0 ? s.min : 0, s.max, counter_freq());
  if (has_result) printf(" result=0x%lx", result);
  printf("\n");
}

void report_unavailable(const char* op, const char* reason) { printf("BENCH %s unavailable reason=%s\n", op, reason); }

using LoopKernel = uint64_t (*)(uint64_t, uint64_t, uint64_t);

// kSamples regions of kOpsPerSample operations, each paired with the same
// region of the empty kernel.
Stats time_loop(LoopKernel op, LoopKernel empty, uint64_t address, uint64_t value) {
  (void)op(kWarmupOps, address, value);
  (void)empty(kWarmupOps, address, value);
  Stats s;
  for (uint64_t i = 0; i < kSamples; ++i) {
    const uint64_t t = op(kOpsPerSample, address, value);
    s.add(kOpsPerSample, t, empty(kOpsPerSample, address, value));
  }
  return s;
}

void bench_hvc() {
  const uint64_t version = smccc_call(Conduit::kHvc, smccc::kVersion).x0;
  report("null-hvc", time_loop(bench_loop_hvc, bench_loop_fid, 0, smccc::kVersion), true, version);
}

void bench_smc() {
  // On bare QEMU at EL1 (no EL2, no EL3) SMC is UNDEFINED: probe it first.
  uint64_t version = 0;
  const TrapRecord t = catch_exception([&] { version = smccc_call(Conduit::kSmc, psci::kVersion).x0; });
  if (t.count != 0) {
    info("SMC took an exception (ESR 0x%lx): no SMC conduit here", t.esr);
    report_unavailable("psci-version-smc", "smc-not-a-conduit");
    return;
  }
  report("psci-version-smc", time_loop(bench_loop_smc, bench_loop_fid, 0, psci::kVersion), true, version);
}

void bench_pl011() {
  const uint32_t fr = mmio_read32(kUartFr);
  report("mmio-read-pl011", time_loop(bench_loop_ldr32, bench_loop_empty, kUartFr, 0), true, fr);
  const uint32_t ilpr = mmio_read32(kUartIlpr);
  report("mmio-write-pl011", time_loop(bench_loop_str32, bench_loop_empty, kUartIlpr, ilpr), true, ilpr);
  check_eq("bench.pl011.ilpr-unchanged", mmio_read32(kUartIlpr), ilpr);
}

void bench_test_device(uintptr_t dt) {
  const MemoryRange dev = bench::fdt_find_compatible(dt, kTestDeviceCompatible);
  if (dev.size == 0) {
    report_unavailable("mmio-read-test-device", "no-test-device");
    report_unavailable("mmio-write-test-device", "no-test-device");
    return;
  }
  const uintptr_t scratch = dev.base + kTestDeviceScratch;
  constexpr uint64_t kValue = 0x0123456789abcdefULL;
  report("mmio-write-test-device", time_loop(bench_loop_str64, bench_loop_empty, scratch, kValue), true, kValue);
  const uint64_t v = mmio_read64(scratch);
  check_eq("bench.test-device.scratch", v, kValue);
  report("mmio-read-test-device", time_loop(bench_loop_ldr64, bench_loop_empty, scratch, 0), true, v);
}

void bench_idreg() {
  const uint64_t pfr0 = GUEST_READ_SYSREG(id_aa64pfr0_el1);
  report("idreg-read", time_loop(bench_loop_idreg, bench_loop_empty, 0, 0), true, pfr0);
}

// ------------------------------------------------------------- fault-in

struct Layout {
  uint64_t ram_base = 0, ram_end = 0;
  uint64_t blocks_end = 0;  // end of the 2 MiB-backed part = start of the 4 KiB tail
  uint64_t image_base = 0, image_size = 0;
  uint64_t dtb_base = 0, dtb_size = 0;

  // Memory the guest used before measuring: image (code, data, stacks) and DT.
  bool pretouched(uint64_t base, uint64_t size) const {
    return overlaps(base, size, image_base, image_size) || overlaps(base, size, dtb_base, dtb_size);
  }
};

constexpr unsigned kMaxTouches = 512;  // < 1 GiB of 2 MiB blocks; < 2 MiB of pages
uint64_t g_touch_addr[kMaxTouches];

uint64_t touch_value(uint64_t address, unsigned pass) { return address * 0x9e3779b97f4a7c15ULL + pass; }

// First and second store to each of `n` addresses; checks that the second
// values read back.
void time_touches(const char* first_name, const char* second_name, unsigned n) {
  for (unsigned pass = 0; pass < 2; ++pass) {
    Stats s;
    for (unsigned i = 0; i < n; ++i) {
      const uint64_t a = g_touch_addr[i];
      const uint64_t empty = bench_touch_empty(a, 0);
      s.add(1, bench_touch(a, touch_value(a, pass)), empty);
    }
    report(pass == 0 ? first_name : second_name, s);
  }
  unsigned bad = 0, first_bad = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (mmio_read64(g_touch_addr[i]) != touch_value(g_touch_addr[i], 1) && bad++ == 0) first_bad = i;
  }
  check(name("bench.%s.values", first_name), bad == 0, "%u of %u addresses lost their value, first 0x%lx", bad, n,
        n != 0 ? g_touch_addr[first_bad] : 0);
}

void bench_fault_in(uintptr_t dt) {
  const MemoryRange ram = fdt_memory(dt);
  if (!check("bench.dt-memory", ram.size != 0, "no /memory in the DT at 0x%lx", static_cast<uint64_t>(dt))) return;
  Layout l;
  l.ram_base = ram.base;
  l.ram_end = ram.base + ram.size;
  l.blocks_end = align_down(l.ram_end, k2M);
  l.image_base = reinterpret_cast<uintptr_t>(__image_start);
  l.image_size = reinterpret_cast<uintptr_t>(__image_end) - l.image_base;
  l.dtb_base = dt;
  l.dtb_size = fdt_total_size(dt);
  // lamina backs whole aligned GiBs with 1 GiB blocks: with one inside RAM
  // there would be no 2 MiB-backed region below the tail to measure.
  const bool no_1g = align_up(l.ram_base, k1G) + k1G > l.ram_end;
  if (!check("bench.layout", (l.ram_base % k2M) == 0 && no_1g && l.blocks_end > l.ram_base,
             "RAM 0x%lx+0x%lx: need a 2 MiB-aligned base and no whole aligned GiB", ram.base, ram.size))
    return;

  unsigned pretouched_2m = 0, pretouched_4k = 0;
  for (uint64_t b = l.ram_base; b < l.blocks_end; b += k2M) pretouched_2m += l.pretouched(b, k2M) ? 1 : 0;
  for (uint64_t p = l.blocks_end; p < l.ram_end; p += k4K) pretouched_4k += l.pretouched(p, k4K) ? 1 : 0;
  printf("BENCH-LAYOUT ram=0x%lx+0x%lx image=0x%lx+0x%lx dtb=0x%lx+0x%lx tail=0x%lx+0x%lx pretouched_2m=%u "
         "pretouched_4k=%u\n",
         ram.base, ram.size, l.image_base, l.image_size, l.dtb_base, l.dtb_size, l.blocks_end,
         l.ram_end - l.blocks_end, pretouched_2m, pretouched_4k);

  // Each untouched 2 MiB block of the upper half (away from the image,
  // stack and DT at the bottom), touched at its base.
  unsigned n = 0;
  const uint64_t upper = l.ram_base + align_down((l.blocks_end - l.ram_base) / 2, k2M);
  for (uint64_t b = upper; b < l.blocks_end && n < kMaxTouches; b += k2M)
    if (!l.pretouched(b, k2M)) g_touch_addr[n++] = b;
  if (n == 0) report_unavailable("fault-in-2m", "no-untouched-2m-block");
  else time_touches("fault-in-2m", "retouch-2m", n);

  // Each untouched 4 KiB page of the tail.
  n = 0;
  for (uint64_t p = l.blocks_end; p < l.ram_end && n < kMaxTouches; p += k4K)
    if (!l.pretouched(p, k4K)) g_touch_addr[n++] = p;
  if (n == 0) report_unavailable("fault-in-4k", "no-4k-tail");
  else time_touches("fault-in-4k", "retouch-4k", n);
}

}  // namespace

int guest_main() {
  const uintptr_t dt = dtb();
  check("bench.dt", fdt_valid(dt), "no device tree (x0 0x%lx)", boot_entry().x[0]);
  bench_hvc();
  bench_smc();
  bench_pl011();
  bench_test_device(dt);
  bench_idreg();
  bench_fault_in(dt);
  return 0;
}
