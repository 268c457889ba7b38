// Randomized differential test of mm/stage2 against a reference model: the
// model is "which output page and attributes does each IPA page have",
// stored as runs (start IPA -> [start, end), output, attributes) so that a
// 2.5 GiB operation costs a few map nodes, not 655360.
//
// Operations (map, unmap, protect, lookup) hit a 6 GiB window of a 40-bit
// IPA space (three-level walk, two concatenated roots) with sizes from one
// page to ~2.5 GiB and starts biased to 4K/2M/1G boundaries, and map outputs
// congruent to the IPA modulo 1 GiB (mostly) or 2 MiB, so 1 GiB and 2 MiB
// blocks form and later get split and replaced, and tables fill and empty.
// Checked:
//  - every lookup against the model (output, attributes; unmapped = error),
//    including the pages just inside and outside each operation's range;
//  - periodically and at the end, a full walk of the tables (done
//    independently of the walker under test, by the fake memory) against the
//    model, both ways: every leaf is in the model and every model page is
//    covered by a leaf; no empty non-root table; every allocated table page
//    is reachable (no leak);
//  - break-before-make and TLB maintenance, via the recording arch ops;
//  - at the end: unmapping everything leaves only the root, destroy() frees
//    every page.
//
// Stage2Differential.FixedSeed is a normal unit test (12,000 operations,
// every operation BBM-checked; ~6 s under ASan in the Debug build). Stage2Differential.DISABLED_LongMillionOps
// runs 1,000,000 operations (ctest `long.mm`); there the recorder checks
// break-before-make on one operation in kLongBbmSample only, to keep the run
// within minutes under ASan (the page geometry is tracked for all of them).
// Both print the number of operations and the seed (fixed defaults, so a
// failure reproduces); LAMINA_SEED=<n> runs another seed, and
// LAMINA_LONG_OPS=<n> gives the long run another length (a shorter one for a
// quick check).
#include <gtest/gtest.h>

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fakes/fake_s2_table_memory.hpp"
#include "fakes/recording_stage2_arch_ops.hpp"
#include "mm/stage2.hpp"
#include "mm/stage2_geometry.hpp"

namespace lamina::mm {
namespace {

using test::FakeS2TableMemory;
using test::Stage2Recorder;

constexpr uint64_t k4K = 4096;
constexpr uint64_t k2M = uint64_t{2} << 20;
constexpr uint64_t k1G = uint64_t{1} << 30;
constexpr uint64_t kWindowLo = k1G;
constexpr uint64_t kWindowHi = 7 * k1G;
constexpr unsigned kIpaBits = 40;

// The reference model.
class Model {
 public:
  struct Run {
    uint64_t end;
    uint64_t pa;
    S2Attrs attrs;
  };

  void map(uint64_t lo, uint64_t hi, uint64_t pa, const S2Attrs& attrs) {
    erase(lo, hi);
    runs_.emplace(lo, Run{hi, pa, attrs});
    coalesce_around(lo);
    coalesce_around(hi);
  }
  void unmap(uint64_t lo, uint64_t hi) { erase(lo, hi); }
  void protect(uint64_t lo, uint64_t hi, const S2Attrs& attrs) {
    split_at(lo);
    split_at(hi);
    for (auto it = runs_.lower_bound(lo); it != runs_.end() && it->first < hi; ++it) it->second.attrs = attrs;
    coalesce_around(lo);
    coalesce_around(hi);
  }
  [[nodiscard]] std::optional<std::pair<uint64_t, S2Attrs>> lookup(uint64_t ipa) const {
    auto it = runs_.upper_bound(ipa);
    if (it == runs_.begin()) return std::nullopt;
    --it;
    if (ipa >= it->second.end) return std::nullopt;
    return std::make_pair(it->second.pa + (ipa - it->first), it->second.attrs);
  }
  [[nodiscard]] const std::map<uint64_t, Run>& runs() const { return runs_; }

 private:
  void split_at(uint64_t x) {
    auto it = runs_.upper_bound(x);
    if (it == runs_.begin()) return;
    --it;
    if (it->first == x || x >= it->second.end) return;
    const Run tail{it->second.end, it->second.pa + (x - it->first), it->second.attrs};
    it->second.end = x;
    runs_.emplace(x, tail);
  }
  void erase(uint64_t lo, uint64_t hi) {
    split_at(lo);
    split_at(hi);
    runs_.erase(runs_.lower_bound(lo), runs_.lower_bound(hi));
  }
  // Merges the run starting at x with the one ending there when they continue each other.
  void coalesce_around(uint64_t x) {
    auto it = runs_.find(x);
    if (it == runs_.end() || it == runs_.begin()) return;
    auto prev = std::prev(it);
    if (prev->second.end == x && prev->second.pa + (x - prev->first) == it->second.pa &&
        prev->second.attrs == it->second.attrs) {
      prev->second.end = it->second.end;
      runs_.erase(it);
    }
  }

  std::map<uint64_t, Run> runs_;
};

struct Span {
  uint64_t lo;
  uint64_t hi;
  uint64_t pa;
  S2Attrs attrs;
  friend bool operator==(const Span&, const Span&) = default;
};

std::string describe(const Span& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "[0x%" PRIx64 ", 0x%" PRIx64 ") -> 0x%" PRIx64 " kind %d r%dw%dx%d%d sw%d", s.lo,
                s.hi, s.pa, static_cast<int>(s.attrs.kind), s.attrs.read, s.attrs.write, s.attrs.exec_el1,
                s.attrs.exec_el0, s.attrs.software);
  return buf;
}

void append_merged(std::vector<Span>& out, const Span& s) {
  if (!out.empty()) {
    Span& last = out.back();
    if (last.hi == s.lo && last.pa + (last.hi - last.lo) == s.pa && last.attrs == s.attrs) {
      last.hi = s.hi;
      return;
    }
  }
  out.push_back(s);
}

// The attribute sets the test draws from, canonicalized through the codec
// (device memory reads back as outer shareable).
std::vector<S2Attrs> attribute_palette() {
  const auto sh = arch::Shareability::kInnerShareable;
  const std::vector<S2Attrs> raw = {
      kS2GuestRam,
      {S2MemKind::kNormalWriteBack, true, true, false, false, sh, 0},
      {S2MemKind::kNormalWriteBack, true, false, false, false, sh, 3},
      {S2MemKind::kNormalWriteBack, true, false, true, true, sh, 0},
      {S2MemKind::kNormalWriteBack, false, false, false, false, sh, 9},
      {S2MemKind::kNormalNonCacheable, true, true, false, false, sh, 0},
      {S2MemKind::kNormalWriteBack, true, true, true, true, arch::Shareability::kOuterShareable, 5},
      kS2GuestDevice,
      {S2MemKind::kDeviceNgnrne, true, false, false, false, arch::Shareability::kOuterShareable, 15},
  };
  std::vector<S2Attrs> out;
  for (const S2Attrs& a : raw) out.push_back(decode_leaf(encode_leaf(PhysAddr(0), 3, a, {}).value().raw(), 3, {}).value().attrs);
  return out;
}

struct RunConfig {
  uint64_t ops;
  uint64_t seed;
  uint64_t full_check_every;
  uint64_t bbm_sample;  // BBM-check one operation in this many (1: all)
};

class Runner {
 public:
  explicit Runner(const RunConfig& config) : config_(config), rng_(config.seed), memory_(16384) {
    Stage2Recorder::reset();
    Stage2Recorder::set_logging(false);
    memory_.set_free_observer([](PhysAddr p, const uint64_t* host, unsigned pages) {
      Stage2Recorder::note_table_free(p, host, pages);
    });
    const Stage2::Config s2_config{stage2_geometry(kIpaBits).value(), S2CodecConfig{}, Vmid(11), false};
    init_ok_ = s2_.init(s2_config, memory_.memory()).ok();
    Stage2Recorder::track(s2_, [this](PhysAddr p) { return memory_.host(p); });
  }
  ~Runner() {
    Stage2Recorder::set_logging(true);
    Stage2Recorder::set_checking(true);
  }

  void run() {
    ASSERT_TRUE(init_ok_);
    const auto started = std::chrono::steady_clock::now();
    for (op_ = 0; op_ < config_.ops; ++op_) {
      Stage2Recorder::set_checking(op_ % config_.bbm_sample == 0);
      step();
      if (::testing::Test::HasFatalFailure()) return;
      const std::string bbm = Stage2Recorder::check_break_before_make();
      ASSERT_EQ(bbm, "") << where();
      if ((op_ + 1) % config_.full_check_every == 0) {
        full_check();
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    Stage2Recorder::set_checking(true);
    full_check();
    if (::testing::Test::HasFatalFailure()) return;
    // Unmap everything: only the root may remain.
    ASSERT_TRUE(s2_.unmap(IntermediatePhysAddr(0), uint64_t{1} << kIpaBits).ok());
    model_.unmap(0, uint64_t{1} << kIpaBits);
    full_check();
    if (::testing::Test::HasFatalFailure()) return;
    const uint64_t roots = s2_.config().geometry.concatenated_tables;
    EXPECT_EQ(s2_.table_pages(), roots);
    EXPECT_EQ(memory_.live_pages(), roots);
    s2_.destroy();
    EXPECT_EQ(memory_.live_pages(), 0u);
    EXPECT_EQ(memory_.bad_frees(), 0u);
    EXPECT_EQ(memory_.bad_translations(), 0u);
    EXPECT_EQ(Stage2Recorder::check_break_before_make(), "");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("stage2 differential: ops=%" PRIu64 " seed=%" PRIu64 " lookups=%" PRIu64 " full_checks=%" PRIu64
                " maps=%" PRIu64 " unmaps=%" PRIu64 " protects=%" PRIu64 " table_allocations=%zu peak_table_pages=%" PRIu64
                " bbm_checked_ops=1/%" PRIu64 " contiguous_runs_seen=%" PRIu64 " time=%.1fs\n",
                config_.ops, config_.seed, lookups_, full_checks_, maps_, unmaps_, protects_, memory_.allocations(), peak_pages_,
                config_.bbm_sample, contiguous_runs_, seconds);
  }

 private:
  uint64_t below(uint64_t n) { return rng_() % n; }

  // A range in the window, its start biased to 4K/2M/1G boundaries.
  std::pair<uint64_t, uint64_t> random_range() {
    const uint64_t a = below(10);
    const uint64_t align = a < 4 ? k4K : a < 7 ? k2M : k1G;
    const uint64_t lo = kWindowLo + align_down(below(kWindowHi - kWindowLo), align);
    uint64_t size = 0;
    switch (below(10)) {
      case 0: case 1: case 2: case 3: size = (1 + below(64)) * k4K; break;
      case 4: case 5: size = (1 + below(1024)) * k4K; break;
      case 6: case 7: size = (1 + below(600)) * k2M + (below(4) == 0 ? below(512) * k4K : 0); break;
      default:
        size = (1 + below(2)) * k1G + below(256) * k2M + (below(4) == 0 ? below(512) * k4K : 0);
        break;
    }
    const uint64_t hi = lo + size < kWindowHi ? lo + size : kWindowHi;
    return {lo, hi};
  }

  // An output for `lo`: congruent mod 1 GiB (blocks of every size possible),
  // mod 2 MiB, or (small ranges only) just page-aligned.
  uint64_t random_pa(uint64_t lo, uint64_t size) {
    const uint64_t kind = below(20);
    if (kind == 0 && size <= 8 * k2M) return (1 + below(1 << 20)) * k4K;
    if (kind < 4) return (1 + below(1 << 14)) * k2M + (lo % k2M);
    return (1 + below(1 << 12)) * k1G + (lo % k1G);
  }

  std::string where() const {
    char buf[200];
    std::snprintf(buf, sizeof buf, "op %" PRIu64 " (seed %" PRIu64 "): %s", op_, config_.seed, last_op_.c_str());
    return buf;
  }

  void check_lookup(uint64_t ipa) {
    ++lookups_;
    const auto got = s2_.lookup(IntermediatePhysAddr(ipa));
    const auto want = model_.lookup(ipa);
    if (!want) {
      ASSERT_FALSE(got.ok()) << where() << ": IPA 0x" << std::hex << ipa << " should be unmapped, maps to 0x"
                             << got.value().output.value();
      ASSERT_EQ(got.error(), Error::kOutOfRange) << where();
      return;
    }
    ASSERT_TRUE(got.ok()) << where() << ": IPA 0x" << std::hex << ipa << " should map to 0x" << want->first;
    ASSERT_EQ(got.value().output.value(), want->first) << where() << ": IPA 0x" << std::hex << ipa;
    ASSERT_EQ(got.value().leaf.attrs, want->second) << where() << ": IPA 0x" << std::hex << ipa;
  }

  void step() {
    const uint64_t kind = below(100);
    const auto [lo, hi] = random_range();
    char buf[160];
    if (kind < 30) {
      const uint64_t pa = random_pa(lo, hi - lo);
      const S2Attrs& attrs = palette_[below(palette_.size())];
      std::snprintf(buf, sizeof buf, "map [0x%" PRIx64 ", 0x%" PRIx64 ") -> 0x%" PRIx64, lo, hi, pa);
      last_op_ = buf;
      ASSERT_TRUE(s2_.map(IntermediatePhysAddr(lo), PhysAddr(pa), hi - lo, attrs).ok()) << where();
      model_.map(lo, hi, pa, attrs);
      ++maps_;
    } else if (kind < 55) {
      std::snprintf(buf, sizeof buf, "unmap [0x%" PRIx64 ", 0x%" PRIx64 ")", lo, hi);
      last_op_ = buf;
      ASSERT_TRUE(s2_.unmap(IntermediatePhysAddr(lo), hi - lo).ok()) << where();
      model_.unmap(lo, hi);
      ++unmaps_;
    } else if (kind < 70) {
      const S2Attrs& attrs = palette_[below(palette_.size())];
      std::snprintf(buf, sizeof buf, "protect [0x%" PRIx64 ", 0x%" PRIx64 ")", lo, hi);
      last_op_ = buf;
      ASSERT_TRUE(s2_.protect(IntermediatePhysAddr(lo), hi - lo, attrs).ok()) << where();
      model_.protect(lo, hi, attrs);
      ++protects_;
    } else {
      last_op_ = "lookups";
      for (int i = 0; i < 4; ++i) {
        check_lookup(kWindowLo + below(kWindowHi - kWindowLo));
        if (::testing::Test::HasFatalFailure()) return;
      }
      return;
    }
    // The edges of the range just changed, and a random page inside it.
    for (const uint64_t ipa : {lo, hi - k4K, lo - k4K, hi, lo + align_down(below(hi - lo), k4K) + below(k4K)}) {
      check_lookup(ipa);
      if (::testing::Test::HasFatalFailure()) return;
    }
    if (s2_.table_pages() > peak_pages_) peak_pages_ = s2_.table_pages();
  }

  // The contiguous hint's invariant: a leaf with the hint is one of 16 leaves
  // of its level, at IPAs aligned to the run's size, all with the hint, the
  // same attributes and contiguous outputs aligned to the run's size.
  // census.leaves is in IPA order, so a run is 16 consecutive leaves.
  void check_contiguous_runs(const FakeS2TableMemory::Census& census) {
    const auto& leaves = census.leaves;
    for (size_t k = 0; k < leaves.size(); ++k) {
      const auto first = decode_leaf(leaves[k].raw, leaves[k].level, {});
      ASSERT_TRUE(first.ok()) << where();
      if (!first.value().contiguous) continue;
      ++contiguous_runs_;
      const unsigned level = leaves[k].level;
      const uint64_t size = s2_entry_size(level);
      ASSERT_TRUE(s2_contiguous_level(level)) << where() << ": hint at level " << level;
      ASSERT_TRUE(is_aligned(leaves[k].ipa, s2_contiguous_size(level)))
          << where() << ": hinted leaf at IPA 0x" << std::hex << leaves[k].ipa << " does not start a run";
      ASSERT_TRUE(first.value().output.is_aligned(s2_contiguous_size(level))) << where();
      ASSERT_LE(k + kS2ContiguousEntries, leaves.size()) << where();
      for (unsigned j = 1; j < kS2ContiguousEntries; ++j) {
        const auto& leaf = leaves[k + j];
        const auto d = decode_leaf(leaf.raw, leaf.level, {});
        ASSERT_TRUE(d.ok()) << where();
        ASSERT_TRUE(leaf.level == level && leaf.ipa == leaves[k].ipa + j * size && d.value().contiguous &&
                    d.value().attrs == first.value().attrs &&
                    d.value().output == first.value().output.offset(j * size))
            << where() << ": run at IPA 0x" << std::hex << leaves[k].ipa << " broken at entry " << std::dec << j;
      }
      k += kS2ContiguousEntries - 1;
    }
  }

  // The tables, walked independently, against the model.
  void full_check() {
    ++full_checks_;
    const FakeS2TableMemory::Census census = memory_.census(s2_);
    ASSERT_EQ(census.dangling_tables, 0u) << where();
    ASSERT_EQ(census.empty_tables, 0u) << where() << ": an empty table was not freed";
    ASSERT_EQ(census.table_pages, s2_.table_pages()) << where();
    ASSERT_EQ(memory_.live_pages(), s2_.table_pages()) << where() << ": a table page leaked";
    check_contiguous_runs(census);
    if (::testing::Test::HasFatalFailure()) return;
    std::vector<Span> tables;
    for (const auto& leaf : census.leaves) {
      const auto decoded = decode_leaf(leaf.raw, leaf.level, {});
      ASSERT_TRUE(decoded.ok()) << where() << ": undecodable leaf at IPA 0x" << std::hex << leaf.ipa;
      append_merged(tables, Span{leaf.ipa, leaf.ipa + s2_entry_size(leaf.level), decoded.value().output.value(),
                                 decoded.value().attrs});
    }
    std::vector<Span> model;
    for (const auto& [start, run] : model_.runs()) append_merged(model, Span{start, run.end, run.pa, run.attrs});
    ASSERT_EQ(tables.size(), model.size()) << where() << ": mapped runs differ in number";
    for (size_t i = 0; i < tables.size(); ++i)
      ASSERT_EQ(tables[i], model[i]) << where() << ": run " << i << ": tables " << describe(tables[i]) << ", model "
                                     << describe(model[i]);
  }

  RunConfig config_;
  std::mt19937_64 rng_;
  FakeS2TableMemory memory_;
  Stage2 s2_;
  Model model_;
  std::vector<S2Attrs> palette_ = attribute_palette();
  bool init_ok_ = false;
  uint64_t op_ = 0;
  std::string last_op_;
  uint64_t lookups_ = 0;
  uint64_t full_checks_ = 0;
  uint64_t maps_ = 0;
  uint64_t unmaps_ = 0;
  uint64_t protects_ = 0;
  uint64_t peak_pages_ = 0;
  uint64_t contiguous_runs_ = 0;  // hinted runs seen by the full checks (summed)
};

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* env = std::getenv(name);
  return env != nullptr && *env != '\0' ? std::strtoull(env, nullptr, 0) : fallback;
}
uint64_t seed_or(uint64_t fallback) { return env_or("LAMINA_SEED", fallback); }

TEST(Stage2Differential, FixedSeed) {
  // 12,000 random map/unmap/protect/lookup operations agree with the reference model, keep break-before-make on
  // every operation, and leak no table page.
  Runner runner(RunConfig{12'000, seed_or(0x5eed'1a31), 500, 1});
  runner.run();
}

constexpr uint64_t kLongBbmSample = 8;

TEST(Stage2Differential, DISABLED_LongMillionOps) {
  // 1,000,000 random operations agree with the reference model, break-before-make checked on a sample of them
  // (seed printed; LAMINA_SEED explores others).
  const uint64_t seed = seed_or(0x1'000'000);
  const uint64_t ops = env_or("LAMINA_LONG_OPS", 1'000'000);
  std::printf("stage2 differential: starting ops=%" PRIu64 " seed=%" PRIu64 "\n", ops, seed);
  std::fflush(stdout);
  Runner runner(RunConfig{ops, seed, 5'000, kLongBbmSample});
  runner.run();
}

}  // namespace
}  // namespace lamina::mm
