// Host benchmarks of stage-2 management (mm/stage2): map, unmap and lookup
// of 4 KiB pages and 2 MiB blocks, and of a whole 1 GiB range mapped as
// pages and as one block. `make bench` runs them and writes the results
// under bench/results/.
//
// Table pages come from a plain arena (no locking, no poisoning) and the
// arch hooks only count maintenance (bench/null_stage2_arch_ops.cpp), so the
// figures are lamina's own cost: walking, encoding, splitting, freeing.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "bench/null_stage2_arch_ops.hpp"
#include "mm/stage2.hpp"

namespace lamina::bench {
namespace {

using mm::IntermediatePhysAddr;
using mm::PhysAddr;

constexpr uint64_t k4K = uint64_t{1} << 12;
constexpr uint64_t k2M = uint64_t{1} << 21;
constexpr uint64_t k1G = uint64_t{1} << 30;

// A page arena with fake physical addresses and a free list.
class Arena {
 public:
  static constexpr uint64_t kBasePa = 0x10'0000'0000;

  explicit Arena(size_t pages) : pages_(new Page[pages]), capacity_(pages) {}

  mm::S2TableMemory memory() { return {this, &alloc, &free, &table}; }

 private:
  struct alignas(4096) Page {
    uint64_t entries[512];
  };

  static Result<PhysAddr, mm::Error> alloc(void* context, unsigned count) {
    auto* self = static_cast<Arena*>(context);
    size_t index;
    if (count == 1 && !self->free_.empty()) {
      index = self->free_.back();
      self->free_.pop_back();
    } else {
      // Aligned runs (the concatenated root) come from the bump pointer.
      size_t next = (self->next_ + count - 1) / count * count;
      if (next + count > self->capacity_) return Err{mm::Error::kNoMemory};
      index = next;
      self->next_ = next + count;
    }
    std::memset(&self->pages_[index], 0, sizeof(Page) * count);
    return PhysAddr(kBasePa + index * k4K);
  }

  static void free(void* context, PhysAddr pa, unsigned count) {
    auto* self = static_cast<Arena*>(context);
    for (unsigned i = 0; i < count; ++i) self->free_.push_back((pa.value() - kBasePa) / k4K + i);
  }

  static uint64_t* table(void* context, PhysAddr pa) {
    auto* self = static_cast<Arena*>(context);
    return self->pages_[(pa.value() - kBasePa) / k4K].entries;
  }

  std::unique_ptr<Page[]> pages_;
  size_t capacity_;
  size_t next_ = 0;
  std::vector<size_t> free_;
};

struct Vm {
  Arena arena{8192};
  mm::Stage2 stage2;

  Vm() {
    const auto geometry = mm::stage2_geometry(40);
    mm::Stage2::Config config;
    config.geometry = geometry.value();
    config.vmid = mm::Vmid(1);
    if (!stage2.init(config, arena.memory()).ok()) std::abort();
  }
  ~Vm() { stage2.destroy(); }
};

void report_maintenance(benchmark::State& state, const MaintenanceCounts& before) {
  const double iterations = static_cast<double>(state.iterations());
  state.counters["tlbi_ipa/iter"] =
      static_cast<double>(g_maintenance.ipa_invalidations - before.ipa_invalidations) / iterations;
  state.counters["tlbi_vmid/iter"] =
      static_cast<double>(g_maintenance.vmid_invalidations - before.vmid_invalidations) / iterations;
}

// Maps (or unmaps) one granule-sized mapping per iteration across a window
// of `kWindow` granules; the opposite operation on the whole window happens
// with the timer paused once per window, so PauseTiming's own cost is
// amortized over kWindow measured operations.
constexpr uint64_t kWindow = 512;

void map_or_unmap(benchmark::State& state, uint64_t granule, bool measure_map) {
  Vm vm;
  const IntermediatePhysAddr base_ipa(k1G);
  const PhysAddr base_pa(0x8000'0000);
  uint64_t i = 0;
  const MaintenanceCounts before = g_maintenance;
  if (!measure_map && !vm.stage2.map(base_ipa, base_pa, kWindow * granule, mm::kS2GuestRam).ok()) std::abort();
  for (auto _ : state) {
    const uint64_t offset = (i % kWindow) * granule;
    if (measure_map) {
      benchmark::DoNotOptimize(vm.stage2.map(base_ipa.offset(offset), base_pa.offset(offset), granule,
                                             mm::kS2GuestRam).ok());
    } else {
      benchmark::DoNotOptimize(vm.stage2.unmap(base_ipa.offset(offset), granule).ok());
    }
    if (++i % kWindow == 0) {
      state.PauseTiming();
      const bool ok = measure_map ? vm.stage2.unmap(base_ipa, kWindow * granule).ok()
                                  : vm.stage2.map(base_ipa, base_pa, kWindow * granule, mm::kS2GuestRam).ok();
      if (!ok) std::abort();
      state.ResumeTiming();
    }
  }
  report_maintenance(state, before);
}

// BM_Map4K is the on-demand fault path's common case: one page into an
// existing last-level table (only the first map of each window allocates
// the tables, which the paused unmap of the whole window freed).
void BM_Map4K(benchmark::State& state) { map_or_unmap(state, k4K, true); }
void BM_Unmap4K(benchmark::State& state) { map_or_unmap(state, k4K, false); }
void BM_Map2M(benchmark::State& state) { map_or_unmap(state, k2M, true); }
void BM_Unmap2M(benchmark::State& state) { map_or_unmap(state, k2M, false); }

void lookup(benchmark::State& state, uint64_t granule) {
  Vm vm;
  const uint64_t count = 256;
  if (!vm.stage2.map(IntermediatePhysAddr(k1G), PhysAddr(0x8000'0000 + (granule == k4K ? k4K : 0)),
                     count * granule, mm::kS2GuestRam)
           .ok())
    std::abort();
  uint64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(vm.stage2.lookup(IntermediatePhysAddr(k1G + (i % count) * granule + 0x123)).ok());
    ++i;
  }
}
void BM_Lookup4K(benchmark::State& state) { lookup(state, k4K); }
void BM_Lookup2M(benchmark::State& state) { lookup(state, k2M); }

// A whole 1 GiB range: as 262,144 pages (PA offset by 4 KiB defeats blocks)
// or as one 1 GiB block; map and unmap timed together per iteration.
void range_1g(benchmark::State& state, bool as_pages) {
  Vm vm;
  const MaintenanceCounts before = g_maintenance;
  for (auto _ : state) {
    const PhysAddr pa(as_pages ? 4 * k1G + k4K : 4 * k1G);
    if (!vm.stage2.map(IntermediatePhysAddr(k1G), pa, k1G, mm::kS2GuestRam).ok()) std::abort();
    if (!vm.stage2.unmap(IntermediatePhysAddr(k1G), k1G).ok()) std::abort();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k1G));
  report_maintenance(state, before);
}
void BM_MapUnmap1GiBAsPages(benchmark::State& state) { range_1g(state, true); }
void BM_MapUnmap1GiBAsBlock(benchmark::State& state) { range_1g(state, false); }

BENCHMARK(BM_Map4K);
BENCHMARK(BM_Unmap4K);
BENCHMARK(BM_Map2M);
BENCHMARK(BM_Unmap2M);
BENCHMARK(BM_Lookup4K);
BENCHMARK(BM_Lookup2M);
BENCHMARK(BM_MapUnmap1GiBAsPages)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MapUnmap1GiBAsBlock);

}  // namespace
}  // namespace lamina::bench

BENCHMARK_MAIN();
