// What lamina learns about the machine from the host device tree.
//
// discover_platform() fills a Platform from a flattened device tree (FDT)
// with libfdt. It is architecture-neutral and host-tested
// (tests/unit/hyp/platform/). Every device address in here is already
// translated through the `ranges` of every parent bus, i.e. it is the CPU
// physical address.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hyp/lib/result.hpp"
#include "mm/addr.hpp"

namespace lamina::hyp {

inline constexpr size_t kMaxMemoryBanks = 16;
inline constexpr size_t kMaxReservedRegions = 32;
inline constexpr size_t kMaxDtCpus = 64;
inline constexpr size_t kMaxRedistributorRegions = 8;
inline constexpr size_t kMaxDtPath = 96;

enum class CpuEnableMethod : uint8_t {
  kNone,       // no enable-method property (only acceptable for the boot CPU)
  kPsci,       // "psci"
  kSpinTable,  // "spin-table" with cpu-release-addr
};

struct CpuDesc {
  uint64_t mpidr = 0;  // affinity bits from `reg`
  CpuEnableMethod enable_method = CpuEnableMethod::kNone;
  mm::PhysAddr release_addr;  // spin-table only
};

enum class PsciConduit : uint8_t { kNone, kSmc, kHvc };

struct PsciDesc {
  PsciConduit conduit = PsciConduit::kNone;
  // True for "arm,psci-0.2"/"arm,psci-1.0" (standard function IDs); false for
  // the original "arm,psci", whose function IDs come from properties.
  bool standard_function_ids = false;
  uint32_t cpu_on_function_id = 0;  // from `cpu_on` when !standard_function_ids
};

enum class GicVersion : uint8_t { kNone, kV2, kV3 };

struct GicDesc {
  GicVersion version = GicVersion::kNone;
  mm::PhysRange distributor;        // GICD
  mm::PhysRange cpu_interface;      // GICC (v2; optional legacy frame on v3)
  mm::PhysRange hyp_interface;      // GICH (virtualization control), may be empty
  mm::PhysRange vcpu_interface;     // GICV, may be empty
  mm::PhysRange redistributors[kMaxRedistributorRegions];  // GICR regions (v3)
  size_t redistributor_region_count = 0;
  bool has_maintenance_interrupt = false;
  uint32_t maintenance_intid = 0;   // INTID (PPI n is INTID 16 + n)
};

enum class UartKind : uint8_t { kNone, kPl011 };

struct UartDesc {
  UartKind kind = UartKind::kNone;
  mm::PhysRange regs;
  char path[kMaxDtPath] = {};  // DT path of the node, for messages
  // Its interrupt (UARTINTR), when `interrupts` names an SPI of the GIC:
  // lamina takes its receive interrupt at EL2. Without one (no property,
  // another interrupt controller, a PPI) lamina polls for typed input.
  // Filled by discover_platform() only, not by find_console_uart().
  bool has_interrupt = false;
  uint32_t intid = 0;  // INTID (SPI n is INTID 32 + n)
  bool edge = false;   // edge-triggered (else level-sensitive, as a PL011's line is)
};

// The architected timer's PPIs, as INTIDs (PPI n is INTID 16 + n).
struct TimerDesc {
  bool present = false;
  uint32_t secure_phys_intid = 0;
  uint32_t nonsecure_phys_intid = 0;
  uint32_t virt_intid = 0;
  uint32_t hyp_phys_intid = 0;
};

struct ReservedRegion {
  mm::PhysRange range;
  bool no_map = false;        // /reserved-memory child with `no-map`
  bool from_memreserve = false;  // the FDT header's memory reservation block
};

struct Platform {
  char model[64] = {};
  mm::PhysRange dtb;  // the blob itself: [fdt, fdt + totalsize)

  mm::PhysRange memory[kMaxMemoryBanks];
  size_t memory_count = 0;

  ReservedRegion reserved[kMaxReservedRegions];
  size_t reserved_count = 0;

  CpuDesc cpus[kMaxDtCpus];
  size_t cpu_count = 0;

  PsciDesc psci;
  GicDesc gic;
  UartDesc uart;
  TimerDesc timer;

  const char* bootargs = nullptr;  // /chosen/bootargs inside the blob, or nullptr
};

enum class DtErrorCode : uint8_t {
  kNoBlob,            // null or unaligned pointer
  kBadHeader,         // fdt_check_header failed (magic, version, sizes)
  kTooLarge,          // totalsize above the limit the caller allows
  kMalformed,         // a libfdt walk failed inside the structure block
  kMissingNode,       // a node lamina needs is absent
  kMissingProperty,   // a property lamina needs is absent
  kBadProperty,       // a property has the wrong length or value
  kUntranslatable,    // an address cannot be translated through `ranges`
  kTooMany,           // more entries than the fixed tables hold
  kUnsupported,       // present but of a kind lamina does not drive
};

// A discovery error: what went wrong and where, for a message naming it.
struct DtError {
  DtErrorCode code = DtErrorCode::kMalformed;
  char node[kMaxDtPath] = {};      // DT path (or a description) of the node involved
  const char* property = nullptr;  // property name, or nullptr
  int libfdt_error = 0;            // libfdt's negative FDT_ERR_*, or 0
  const char* detail = nullptr;    // a short static explanation
};

// Writes "device tree: <what> (<node>, <property>): <detail>" into buf,
// followed by " [libfdt: FDT_ERR_...]" when libfdt_error is set (always
// NUL-terminated, truncated to buf_size). E.g. "device tree: missing property
// (/cpus/cpu@1, cpu-release-addr): spin-table CPUs need a release address".
void describe_dt_error(const DtError& e, char* buf, size_t buf_size);

// The <what> part of describe_dt_error, e.g. "missing property".
[[nodiscard]] const char* dt_error_code_name(DtErrorCode code);

// Upper bound lamina accepts for a host DTB (the arm64 boot protocol caps it at 2 MiB).
inline constexpr uint64_t kMaxDtbSize = 2ull << 20;

// Parses the whole blob at `fdt` (at physical address `fdt_pa`, which is
// recorded in Platform::dtb). Requires: memory banks, CPUs, a GIC (v2 or
// v3), the architected timer, and a console UART (from /chosen/stdout-path,
// or the first enabled arm,pl011 if stdout-path is absent). PSCI is optional
// unless some CPU uses enable-method "psci".
[[nodiscard]] Result<Ok, DtError> discover_platform(const void* fdt, mm::PhysAddr fdt_pa,
                                                    Platform* out);

// Only the console: used before (or instead of) full discovery, so that even
// a DT that fails discovery can be complained about on its own console.
[[nodiscard]] Result<UartDesc, DtError> find_console_uart(const void* fdt);

// Only the PSCI node (conduit), for powering off after an early failure.
[[nodiscard]] Result<PsciDesc, DtError> find_psci(const void* fdt);

// Validates the header (magic, version, sizes) and returns totalsize.
// `max_size` is how many bytes at `fdt` may be read: a header or totalsize
// that does not fit is kTooLarge. FDT version 17 or later is required.
[[nodiscard]] Result<uint64_t, DtError> check_dtb_header(const void* fdt, uint64_t max_size);

}  // namespace lamina::hyp
