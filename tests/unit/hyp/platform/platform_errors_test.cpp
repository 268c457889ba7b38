// discover_platform() and friends on broken input: bad pointers and
// headers, truncated and corrupted blobs, and valid blobs that lack (or
// garble) something lamina needs. Incomplete trees are made by editing a
// valid fixture in memory with libfdt's read-write API. Every negative test
// checks the error code and the node/property it names.
#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <libfdt.h>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "fakes/dtb_blob.hpp"
#include "hyp/platform/platform.hpp"

namespace lamina::hyp {
namespace {

using test::describe;
using test::Dtb;
using test::expect_dt_error;

// Exactly `size` bytes on the heap, so ASan flags any read past the end.
// operator new[] aligns to at least 16 bytes.
class ExactBuffer {
 public:
  ExactBuffer(const void* src, size_t size) : bytes_(new uint8_t[size == 0 ? 1 : size]), size_(size) {
    if (size != 0) memcpy(bytes_.get(), src, size);
  }
  uint8_t* data() { return bytes_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
  size_t size_;
};

constexpr const char* kVirtV2 = "qemu-virt-gicv2-a57-smp1-1g.dtb";
constexpr const char* kVirtV3Smp4 = "qemu-virt-gicv3-max-smp4-4g.dtb";
constexpr const char* kRaspi4b = "qemu-raspi4b.dtb";
constexpr const char* kSynthetic = "synthetic.dtb";
constexpr mm::PhysAddr kDtbPa{0x48000000};

DtError discover_error(const void* blob) {
  Platform platform;
  const auto result = discover_platform(blob, kDtbPa, &platform);
  EXPECT_FALSE(result.ok()) << "discovery unexpectedly succeeded";
  return result.ok() ? DtError{} : result.error();
}

void expect_discovery_error(const Dtb& dtb, DtErrorCode code, const char* node, const char* property) {
  expect_dt_error(discover_error(dtb.data()), code, node, property);
}

void set_raw(Dtb& dtb, const char* path, const char* name, const void* value, size_t size) {
  ASSERT_EQ(fdt_setprop(dtb.data(), dtb.node(path), name, value, static_cast<int>(size)), 0)
      << path << " " << name;
}

// One or more 32-bit cells, big-endian.
template <typename... Cells>
void set_cells(Dtb& dtb, const char* path, const char* name, Cells... cells) {
  const fdt32_t raw[] = {cpu_to_fdt32(static_cast<uint32_t>(cells))...};
  set_raw(dtb, path, name, raw, sizeof(raw));
}

void set_string(Dtb& dtb, const char* path, const char* name, const char* value) {
  set_raw(dtb, path, name, value, strlen(value) + 1);
}

// `value` without its NUL.
void set_unterminated(Dtb& dtb, const char* path, const char* name, const char* value) {
  set_raw(dtb, path, name, value, strlen(value));
}

void del_prop(Dtb& dtb, const char* path, const char* name) {
  ASSERT_EQ(fdt_delprop(dtb.data(), dtb.node(path), name), 0) << path << " " << name;
}

void del_node(Dtb& dtb, const char* path) { ASSERT_EQ(fdt_del_node(dtb.data(), dtb.node(path)), 0) << path; }

// The Pi 4's console is the mini UART, which lamina does not drive: moved to
// the PL011 (serial0), discovery gets past the console.
void pl011_console(Dtb& dtb) { set_string(dtb, "/chosen", "stdout-path", "serial0"); }

// --- pointer and header -------------------------------------------------

TEST(PlatformHeaderTest, NullPointerIsNoBlob) {
  expect_dt_error(check_dtb_header(nullptr, kMaxDtbSize).error(), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_dt_error(discover_error(nullptr), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_dt_error(find_console_uart(nullptr).error(), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_dt_error(find_psci(nullptr).error(), DtErrorCode::kNoBlob, "blob", nullptr);
}

TEST(PlatformHeaderTest, MisalignedPointerIsNoBlob) {
  const Dtb dtb = Dtb::load(kVirtV2);
  std::vector<uint64_t> shifted(dtb.capacity() / 8 + 1);
  auto* at4 = reinterpret_cast<uint8_t*>(shifted.data()) + 4;
  memcpy(at4, dtb.data(), dtb.total_size());
  expect_dt_error(check_dtb_header(at4, kMaxDtbSize).error(), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_dt_error(discover_error(at4), DtErrorCode::kNoBlob, "blob", nullptr);
  expect_dt_error(find_console_uart(at4).error(), DtErrorCode::kNoBlob, "blob", nullptr);
}

TEST(PlatformHeaderTest, NullOutputIsRejected) {
  const Dtb dtb = Dtb::load(kVirtV2);
  const auto result = discover_platform(dtb.data(), kDtbPa, nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, DtErrorCode::kNoBlob);
}

TEST(PlatformHeaderTest, BadMagic) {
  Dtb dtb = Dtb::load(kVirtV2);
  fdt_set_magic(dtb.data(), 0xedfe0dd0);  // byte-swapped
  const DtError e = check_dtb_header(dtb.data(), kMaxDtbSize).error();
  expect_dt_error(e, DtErrorCode::kBadHeader, "header", nullptr);
  EXPECT_EQ(e.libfdt_error, -FDT_ERR_BADMAGIC);
  EXPECT_EQ(describe(e),
            "device tree: bad header (header): bad magic (expected 0xd00dfeed) "
            "[libfdt: FDT_ERR_BADMAGIC]");
  expect_dt_error(discover_error(dtb.data()), DtErrorCode::kBadHeader, "header", nullptr);
  expect_dt_error(find_psci(dtb.data()).error(), DtErrorCode::kBadHeader, "header", nullptr);
}

TEST(PlatformHeaderTest, BadVersions) {
  struct Case {
    uint32_t version;
    uint32_t last_compatible;
  };
  // Newer than libfdt understands, ancient, and 16 (which libfdt accepts but
  // lamina does not: no size_dt_struct).
  for (const Case c : {Case{18, 18}, Case{1, 1}, Case{16, 16}}) {
    Dtb dtb = Dtb::load(kVirtV2);
    fdt_set_version(dtb.data(), c.version);
    fdt_set_last_comp_version(dtb.data(), c.last_compatible);
    const DtError e = discover_error(dtb.data());
    expect_dt_error(e, DtErrorCode::kBadHeader, "header", nullptr);
    EXPECT_EQ(e.libfdt_error, -FDT_ERR_BADVERSION) << c.version;
  }
}

TEST(PlatformHeaderTest, InconsistentBlockSizes) {
  Dtb dtb = Dtb::load(kVirtV2);
  fdt_set_size_dt_strings(dtb.data(), fdt_size_dt_strings(dtb.data()) + 64);
  const DtError e = discover_error(dtb.data());
  expect_dt_error(e, DtErrorCode::kBadHeader, "header", nullptr);
  EXPECT_EQ(e.libfdt_error, -FDT_ERR_TRUNCATED);
}

// totalsize is trusted only up to what the caller allows: a header claiming
// more than the buffer is rejected before anything past the header is read.
TEST(PlatformHeaderTest, TotalSizeLargerThanBuffer) {
  const Dtb dtb = Dtb::load(kVirtV2);
  ExactBuffer exact(dtb.data(), dtb.total_size());
  fdt_set_totalsize(exact.data(), dtb.total_size() + 4096);
  expect_dt_error(check_dtb_header(exact.data(), exact.size()).error(), DtErrorCode::kTooLarge, "header",
                  nullptr);
}

TEST(PlatformHeaderTest, TotalSizeAboveTheBootProtocolLimit) {
  const Dtb dtb = Dtb::load(kVirtV2);
  ExactBuffer exact(dtb.data(), dtb.total_size());
  fdt_set_totalsize(exact.data(), 3u << 20);
  expect_dt_error(discover_error(exact.data()), DtErrorCode::kTooLarge, "header", nullptr);
  expect_dt_error(find_console_uart(exact.data()).error(), DtErrorCode::kTooLarge, "header", nullptr);
  // The exact limit is fine as far as the header goes.
  EXPECT_TRUE(check_dtb_header(dtb.data(), dtb.total_size()).ok());
  EXPECT_FALSE(check_dtb_header(dtb.data(), dtb.total_size() - 1).ok());
}

TEST(PlatformHeaderTest, MaxSizeSmallerThanTheHeader) {
  const Dtb dtb = Dtb::load(kVirtV2);
  ExactBuffer tiny(dtb.data(), 39);
  expect_dt_error(check_dtb_header(tiny.data(), tiny.size()).error(), DtErrorCode::kTooLarge, "header",
                  nullptr);
}

// --- truncated and corrupted blobs ----------------------------------------

// A blob cut to `size` bytes whose header is rewritten to describe only what
// is left (every block clipped to the cut), so the damage reaches libfdt's
// structure walk instead of stopping at the header check.
ExactBuffer cut_consistently(const Dtb& dtb, size_t size) {
  ExactBuffer cut(dtb.data(), size);
  void* fdt = cut.data();
  const auto clip = [size](uint32_t offset) { return offset > size ? static_cast<uint32_t>(size) : offset; };
  const uint32_t struct_off = clip(fdt_off_dt_struct(dtb.data()));
  const uint32_t struct_end = clip(fdt_off_dt_struct(dtb.data()) + fdt_size_dt_struct(dtb.data()));
  const uint32_t strings_off = clip(fdt_off_dt_strings(dtb.data()));
  const uint32_t strings_end = clip(fdt_off_dt_strings(dtb.data()) + fdt_size_dt_strings(dtb.data()));
  fdt_set_totalsize(fdt, static_cast<uint32_t>(size));
  fdt_set_off_dt_struct(fdt, struct_off);
  fdt_set_size_dt_struct(fdt, struct_end - struct_off);
  fdt_set_off_dt_strings(fdt, strings_off);
  fdt_set_size_dt_strings(fdt, strings_end - strings_off);
  return cut;
}

void expect_truncation_rejected(const Dtb& dtb, size_t size) {
  SCOPED_TRACE("cut at " + std::to_string(size));
  // As found: the header still claims the full size.
  ExactBuffer as_found(dtb.data(), size);
  EXPECT_FALSE(check_dtb_header(as_found.data(), as_found.size()).ok());
  if (size < sizeof(fdt_header)) return;

  // With only totalsize patched: the blocks no longer fit.
  ExactBuffer patched(dtb.data(), size);
  fdt_set_totalsize(patched.data(), static_cast<uint32_t>(size));
  EXPECT_FALSE(find_psci(patched.data()).ok());
  EXPECT_EQ(discover_error(patched.data()).code, DtErrorCode::kBadHeader);

  // With a consistent header: the walk itself must notice.
  ExactBuffer consistent = cut_consistently(dtb, size);
  const DtError e = discover_error(consistent.data());
  EXPECT_TRUE(e.code == DtErrorCode::kMalformed || e.code == DtErrorCode::kBadHeader) << describe(e);
  EXPECT_FALSE(find_console_uart(consistent.data()).ok());
  EXPECT_FALSE(find_psci(consistent.data()).ok());
}

TEST(PlatformMalformedTest, TruncationAtEvery64ByteBoundaryIsAnError) {
  for (const char* fixture : {kVirtV2, kVirtV3Smp4, kRaspi4b, kSynthetic}) {
    SCOPED_TRACE(fixture);
    const Dtb dtb = Dtb::load(fixture);
    for (size_t size = 0; size < dtb.total_size(); size += 64) expect_truncation_rejected(dtb, size);
  }
}

// Cuts at the interesting places: inside the header, the memory
// reservation block, the structure block and the strings block.
TEST(PlatformMalformedTest, TruncationInsideEachBlock) {
  const Dtb dtb = Dtb::load(kVirtV2);
  const size_t structure = fdt_off_dt_struct(dtb.data());
  const size_t strings = fdt_off_dt_strings(dtb.data());
  const size_t total = dtb.total_size();
  for (size_t size : {size_t{1}, size_t{4}, size_t{20}, size_t{39}, size_t{40}, size_t{41}, structure - 1,
                      structure, structure + 1, structure + 9, strings - 4, strings - 1, strings, strings + 1,
                      strings + 7, total - 2, total - 1}) {
    expect_truncation_rejected(dtb, size);
  }
  // Inside the structure and strings blocks the walk reports it.
  for (size_t size : {structure + 100, strings - 4, strings + 7, total - 1}) {
    ExactBuffer consistent = cut_consistently(dtb, size);
    EXPECT_EQ(discover_error(consistent.data()).code, DtErrorCode::kMalformed) << size;
  }
}

// Garbage (0xff) from every 64-byte boundary to the end of a full-size
// blob: always reported as a malformed structure, never misparsed.
TEST(PlatformMalformedTest, GarbageTailAtEvery64ByteBoundaryIsMalformed) {
  const Dtb dtb = Dtb::load(kVirtV2);
  const size_t first = (fdt_off_dt_struct(dtb.data()) + 63) / 64 * 64;
  for (size_t from = first; from < dtb.total_size(); from += 64) {
    Dtb broken = dtb;
    memset(broken.bytes() + from, 0xff, dtb.total_size() - from);
    const DtError e = discover_error(broken.data());
    EXPECT_EQ(e.code, DtErrorCode::kMalformed) << from << ": " << describe(e);
    EXPECT_FALSE(find_console_uart(broken.data()).ok()) << from;
  }
}

// Returns the blob offset of `node`'s first property token.
size_t first_property_token(const Dtb& dtb, const char* path) {
  const int property = fdt_first_property_offset(dtb.data(), dtb.node(path));
  EXPECT_GE(property, 0);
  return fdt_off_dt_struct(dtb.data()) + static_cast<size_t>(property);
}

void put_be32(Dtb& dtb, size_t offset, uint32_t value) {
  const fdt32_t raw = cpu_to_fdt32(value);
  memcpy(dtb.bytes() + offset, &raw, sizeof(raw));
}

TEST(PlatformMalformedTest, CorruptTokenNamesTheLastGoodNode) {
  Dtb dtb = Dtb::load(kVirtV2);
  put_be32(dtb, first_property_token(dtb, "/cpus"), 0x7);  // no such token
  const DtError e = discover_error(dtb.data());
  expect_dt_error(e, DtErrorCode::kMalformed, "/cpus", nullptr);
  EXPECT_EQ(e.libfdt_error, -FDT_ERR_BADSTRUCTURE);
  expect_dt_error(find_console_uart(dtb.data()).error(), DtErrorCode::kMalformed, "/cpus", nullptr);
  expect_dt_error(find_psci(dtb.data()).error(), DtErrorCode::kMalformed, "/cpus", nullptr);
}

TEST(PlatformMalformedTest, UnbalancedNodes) {
  Dtb dtb = Dtb::load(kVirtV2);
  // The root's FDT_END_NODE is the token before the final FDT_END.
  const size_t end = fdt_off_dt_struct(dtb.data()) + fdt_size_dt_struct(dtb.data());
  put_be32(dtb, end - 8, FDT_NOP);
  EXPECT_EQ(discover_error(dtb.data()).code, DtErrorCode::kMalformed);
}

TEST(PlatformMalformedTest, RootNodeNotFirst) {
  Dtb dtb = Dtb::load(kVirtV2);
  // Replace the root's FDT_BEGIN_NODE and its (empty, padded) name with NOPs:
  // everything after it then hangs off no root.
  const size_t structure = fdt_off_dt_struct(dtb.data());
  put_be32(dtb, structure, FDT_NOP);
  put_be32(dtb, structure + 4, FDT_NOP);
  EXPECT_EQ(discover_error(dtb.data()).code, DtErrorCode::kMalformed);
}

TEST(PlatformMalformedTest, PropertyNameOutsideStringsBlock) {
  Dtb dtb = Dtb::load(kVirtV2);
  put_be32(dtb, first_property_token(dtb, "/chosen") + 8, 0xfffffff0);  // nameoff
  EXPECT_EQ(discover_error(dtb.data()).code, DtErrorCode::kMalformed);
}

TEST(PlatformMalformedTest, PropertyLengthPastTheStructureBlock) {
  for (uint32_t length : {0x7fffffffu, 0xfffffff0u, 0x10000u}) {
    Dtb dtb = Dtb::load(kVirtV2);
    put_be32(dtb, first_property_token(dtb, "/memory@40000000") + 4, length);
    EXPECT_EQ(discover_error(dtb.data()).code, DtErrorCode::kMalformed) << length;
  }
}

TEST(PlatformMalformedTest, UnterminatedMemoryReservationBlock) {
  // A memory reservation block with no terminating entry before totalsize.
  Dtb dtb = Dtb::load(kVirtV2);
  fdt_set_off_mem_rsvmap(dtb.data(), dtb.total_size() - 8);
  const DtError e = discover_error(dtb.data());
  EXPECT_TRUE(e.code == DtErrorCode::kBadHeader || e.code == DtErrorCode::kMalformed) << describe(e);
}

// Every structure-block word overwritten with each token value and with
// garbage: whatever the outcome, nothing may crash or read out of bounds
// (ASan/UBSan). Garbage where a token belongs must always be caught by the
// structure walk; elsewhere (inside names and values) it may be harmless.
void fuzz_structure_tokens(const char* fixture) {
  SCOPED_TRACE(fixture);
  const Dtb dtb = Dtb::load(fixture);
  const size_t begin = fdt_off_dt_struct(dtb.data());
  const size_t end = begin + fdt_size_dt_struct(dtb.data());
  std::vector<bool> is_token(end, false);
  for (int offset = 0, next = 0; next >= 0; offset = next) {
    if (fdt_next_tag(dtb.data(), offset, &next) == FDT_END) break;
    is_token[begin + static_cast<size_t>(offset)] = true;
  }
  size_t garbage_tokens = 0;
  for (size_t offset = begin; offset < end; offset += 4) {
    for (uint32_t value : {uint32_t{FDT_BEGIN_NODE}, uint32_t{FDT_END_NODE}, uint32_t{FDT_PROP},
                           uint32_t{FDT_NOP}, uint32_t{FDT_END}, 0xffffffffu, 0x00010000u}) {
      Dtb broken = dtb;
      put_be32(broken, offset, value);
      Platform platform;
      const auto result = discover_platform(broken.data(), kDtbPa, &platform);
      if (!result.ok()) {
        EXPECT_NE(result.error().node[0], '\0');
        EXPECT_NE(result.error().detail, nullptr);
      }
      if (is_token[offset] && value > FDT_END) {
        ++garbage_tokens;
        EXPECT_FALSE(result.ok()) << offset;
        if (result.ok()) continue;
        EXPECT_EQ(result.error().code, DtErrorCode::kMalformed) << offset;
      }
    }
  }
  EXPECT_GT(garbage_tokens, 200u);
}

TEST(PlatformMalformedTest, StructureTokenFuzzNeverCrashes) {
  fuzz_structure_tokens(kVirtV2);
  fuzz_structure_tokens(kSynthetic);
}

// --- edited trees: one edit, one error ---------------------------------------

// The entry points a case runs; each must fail with the case's error.
enum Check : unsigned { kDiscovery = 1u << 0, kConsole = 1u << 1, kPsci = 1u << 2 };

// A valid fixture, the error it must give once edited, and the edit.
struct EditCase {
  const char* name;  // the test's name
  const char* fixture;
  DtErrorCode code;
  const char* node;
  const char* property;  // nullptr: the error names no property
  void (*edit)(Dtb&);
  unsigned checks = kDiscovery;
};

void PrintTo(const EditCase& c, std::ostream* os) { *os << c.name << " (" << c.fixture << ")"; }

std::string case_name(const testing::TestParamInfo<EditCase>& info) { return info.param.name; }

class EditedTreeTest : public testing::TestWithParam<EditCase> {};

TEST_P(EditedTreeTest, Fails) {
  const EditCase& c = GetParam();
  Dtb dtb = Dtb::load(c.fixture).editable();
  ASSERT_NO_FATAL_FAILURE(c.edit(dtb));
  if (c.checks & kDiscovery) expect_discovery_error(dtb, c.code, c.node, c.property);
  if (c.checks & kConsole) expect_dt_error(find_console_uart(dtb.data()).error(), c.code, c.node, c.property);
  if (c.checks & kPsci) expect_dt_error(find_psci(dtb.data()).error(), c.code, c.node, c.property);
}

// --- memory ---------------------------------------------------------------

const EditCase kMemoryCases[] = {
    {"MissingMemoryNode", kVirtV2, DtErrorCode::kMissingNode, "/memory", nullptr,
     [](Dtb& d) { del_node(d, "/memory@40000000"); }},
    {"MemoryWithoutReg", kVirtV2, DtErrorCode::kMissingProperty, "/memory@40000000", "reg",
     [](Dtb& d) { del_prop(d, "/memory@40000000", "reg"); }},
    // 3 of 4 cells.
    {"BadRegLength", kVirtV2, DtErrorCode::kBadProperty, "/memory@40000000", "reg",
     [](Dtb& d) { set_cells(d, "/memory@40000000", "reg", 0x0, 0x40000000, 0x0); }},
    {"BankWrappingPast64Bits", kVirtV2, DtErrorCode::kBadProperty, "/memory@40000000", "reg",
     [](Dtb& d) { set_cells(d, "/memory@40000000", "reg", 0xffffffff, 0xfffff000, 0x0, 0x2000); }},
};
INSTANTIATE_TEST_SUITE_P(PlatformMemoryTest, EditedTreeTest, testing::ValuesIn(kMemoryCases), case_name);

TEST(PlatformMemoryTest, TooManyBanks) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  std::vector<fdt32_t> reg;
  for (uint32_t i = 0; i <= kMaxMemoryBanks; ++i) {
    for (uint32_t cell : {0u, 0x40000000u + i * 0x100000u, 0u, 0x1000u}) reg.push_back(cpu_to_fdt32(cell));
  }
  set_raw(dtb, "/memory@40000000", "reg", reg.data(), reg.size() * sizeof(fdt32_t));
  expect_discovery_error(dtb, DtErrorCode::kTooMany, "/memory@40000000", "reg");
}

// --- reserved memory --------------------------------------------------------

const EditCase kReservedCases[] = {
    {"ReservedMemoryWithoutRangesIsUntranslatable", kSynthetic, DtErrorCode::kUntranslatable,
     "/reserved-memory", "ranges", [](Dtb& d) { del_prop(d, "/reserved-memory", "ranges"); }},
    // /reserved-memory has #size-cells = 1: a root-style 4-cell entry does
    // not fit its 3-cell stride.
    {"BadRegUsesReservedMemorysOwnCells", kSynthetic, DtErrorCode::kBadProperty,
     "/reserved-memory/firmware@81000000", "reg",
     [](Dtb& d) {
       set_cells(d, "/reserved-memory/firmware@81000000", "reg", 0x0, 0x81000000, 0x0, 0x100000);
     }},
};
INSTANTIATE_TEST_SUITE_P(PlatformReservedTest, EditedTreeTest, testing::ValuesIn(kReservedCases), case_name);

TEST(PlatformReservedTest, TooManyReservedRegions) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  const int parent = dtb.node("/reserved-memory");
  for (uint32_t i = 0; i < kMaxReservedRegions; ++i) {
    const std::string name = "extra@" + std::to_string(i);
    const int child = fdt_add_subnode(dtb.data(), parent, name.c_str());
    ASSERT_GE(child, 0);
    const fdt32_t reg[] = {cpu_to_fdt32(0), cpu_to_fdt32(0xb0000000 + i * 0x1000), cpu_to_fdt32(0x1000)};
    ASSERT_EQ(fdt_setprop(dtb.data(), child, "reg", reg, sizeof(reg)), 0);
  }
  const DtError e = discover_error(dtb.data());
  EXPECT_EQ(e.code, DtErrorCode::kTooMany) << describe(e);
  EXPECT_EQ(std::string(e.node).rfind("/reserved-memory/", 0), 0u) << e.node;
  EXPECT_STREQ(e.property, "reg");
}

// --- CPUs -----------------------------------------------------------------

// The spin-table cases edit the Pi 4 tree, with its console on the PL011.
const EditCase kCpuCases[] = {
    {"MissingCpusNode", kVirtV2, DtErrorCode::kMissingNode, "/cpus", nullptr,
     [](Dtb& d) { del_node(d, "/cpus"); }},
    {"CpusWithoutCpuNodes", kVirtV2, DtErrorCode::kMissingNode, "/cpus", nullptr,
     [](Dtb& d) { del_node(d, "/cpus/cpu@0"); }},
    {"OnlyDisabledCpus", kVirtV2, DtErrorCode::kMissingNode, "/cpus", nullptr,
     [](Dtb& d) { set_string(d, "/cpus/cpu@0", "status", "disabled"); }},
    {"UnsupportedAddressCells", kVirtV2, DtErrorCode::kBadProperty, "/cpus", "#address-cells",
     [](Dtb& d) { set_cells(d, "/cpus", "#address-cells", 3); }},
    // Two MPIDRs with #address-cells = 1.
    {"BadRegLength", kVirtV2, DtErrorCode::kBadProperty, "/cpus/cpu@0", "reg",
     [](Dtb& d) { set_cells(d, "/cpus/cpu@0", "reg", 0x0, 0x0); }},
    {"BadRegLengthNotWholeCells", kVirtV2, DtErrorCode::kBadProperty, "/cpus/cpu@0", "reg",
     [](Dtb& d) {
       const uint8_t three_bytes[] = {0, 0, 0};
       set_raw(d, "/cpus/cpu@0", "reg", three_bytes, sizeof(three_bytes));
     }},
    // Bit 24 is MT/U, not affinity.
    {"MpidrBitsOutsideAffinity", kVirtV2, DtErrorCode::kBadProperty, "/cpus/cpu@0", "reg",
     [](Dtb& d) { set_cells(d, "/cpus/cpu@0", "reg", 0x01000000); }},
    {"DuplicateMpidr", kVirtV3Smp4, DtErrorCode::kBadProperty, "/cpus/cpu@2", "reg",
     [](Dtb& d) { set_cells(d, "/cpus/cpu@2", "reg", 0x1); }},
    {"SpinTableWithoutReleaseAddress", kRaspi4b, DtErrorCode::kMissingProperty, "/cpus/cpu@1",
     "cpu-release-addr",
     [](Dtb& d) {
       pl011_console(d);
       del_prop(d, "/cpus/cpu@1", "cpu-release-addr");
     }},
    {"ReleaseAddressOfThreeCells", kRaspi4b, DtErrorCode::kBadProperty, "/cpus/cpu@3", "cpu-release-addr",
     [](Dtb& d) {
       pl011_console(d);
       set_cells(d, "/cpus/cpu@3", "cpu-release-addr", 0x0, 0x0, 0xf0);
     }},
    {"UnknownEnableMethod", kRaspi4b, DtErrorCode::kUnsupported, "/cpus/cpu@2", "enable-method",
     [](Dtb& d) {
       pl011_console(d);
       set_string(d, "/cpus/cpu@2", "enable-method", "brcm,bcm2836-smp");
     }},
    {"UnterminatedEnableMethod", kRaspi4b, DtErrorCode::kBadProperty, "/cpus/cpu@2", "enable-method",
     [](Dtb& d) {
       pl011_console(d);
       set_unterminated(d, "/cpus/cpu@2", "enable-method", "psci");
     }},
};
INSTANTIATE_TEST_SUITE_P(PlatformCpuTest, EditedTreeTest, testing::ValuesIn(kCpuCases), case_name);

TEST(PlatformCpuTest, TooManyCpus) {
  Dtb dtb = Dtb::load(kVirtV2).editable(65536);
  const int cpus = dtb.node("/cpus");
  for (uint32_t i = 1; i <= kMaxDtCpus; ++i) {
    const std::string name = "cpu@" + std::to_string(i);
    const int cpu = fdt_add_subnode(dtb.data(), cpus, name.c_str());
    ASSERT_GE(cpu, 0);
    ASSERT_EQ(fdt_setprop_string(dtb.data(), cpu, "device_type", "cpu"), 0);
    ASSERT_EQ(fdt_setprop_u32(dtb.data(), cpu, "reg", i), 0);
  }
  expect_discovery_error(dtb, DtErrorCode::kTooMany, "/cpus", nullptr);
}

// --- PSCI -----------------------------------------------------------------

const EditCase kPsciCases[] = {
    {"MethodFoo", kVirtV3Smp4, DtErrorCode::kBadProperty, "/psci", "method",
     [](Dtb& d) { set_string(d, "/psci", "method", "foo"); }, kDiscovery | kPsci},
    {"MissingMethod", kVirtV3Smp4, DtErrorCode::kMissingProperty, "/psci", "method",
     [](Dtb& d) { del_prop(d, "/psci", "method"); }, kPsci},
    {"Psci01CpuOnBadLength", kSynthetic, DtErrorCode::kBadProperty, "/psci", "cpu_on",
     [](Dtb& d) { set_cells(d, "/psci", "cpu_on", 0x0, 0x95c10001); }, kPsci},
};
INSTANTIATE_TEST_SUITE_P(PlatformPsciTest, EditedTreeTest, testing::ValuesIn(kPsciCases), case_name);

TEST(PlatformPsciTest, PsciCpuWithoutPsciNode) {
  Dtb dtb = Dtb::load(kVirtV3Smp4).editable();
  del_node(dtb, "/psci");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/psci", nullptr);
  // On its own, an absent PSCI node is not an error.
  const auto psci = find_psci(dtb.data());
  ASSERT_TRUE(psci.ok());
  EXPECT_EQ(psci.value().conduit, PsciConduit::kNone);
}

TEST(PlatformPsciTest, DisabledPsciNodeCountsAsAbsent) {
  Dtb dtb = Dtb::load(kVirtV2).editable();  // its only CPU has no enable-method
  set_string(dtb, "/psci", "status", "disabled");
  Platform platform;
  const auto result = discover_platform(dtb.data(), kDtbPa, &platform);
  ASSERT_TRUE(result.ok()) << describe(result.error());
  EXPECT_EQ(platform.psci.conduit, PsciConduit::kNone);
}

TEST(PlatformPsciTest, Psci01CpuOnRequiredForPsciCpus) {
  Dtb dtb = Dtb::load(kSynthetic).editable();
  del_prop(dtb, "/psci", "cpu_on");
  expect_discovery_error(dtb, DtErrorCode::kMissingProperty, "/psci", "cpu_on");
  // find_psci alone still reports the conduit (e.g. for SYSTEM_OFF paths).
  const auto psci = find_psci(dtb.data());
  ASSERT_TRUE(psci.ok());
  EXPECT_EQ(psci.value().conduit, PsciConduit::kHvc);
  EXPECT_EQ(psci.value().cpu_on_function_id, 0u);
}

// --- GIC ------------------------------------------------------------------

const EditCase kGicCases[] = {
    {"DisabledGicIsMissing", kVirtV3Smp4, DtErrorCode::kMissingNode, "interrupt-controller", nullptr,
     [](Dtb& d) { set_string(d, "/intc@8000000", "status", "disabled"); }},
    {"BadRegLength", kVirtV2, DtErrorCode::kBadProperty, "/intc@8000000", "reg",
     [](Dtb& d) { set_cells(d, "/intc@8000000", "reg", 0x0, 0x08000000, 0x0); }},
    {"GicV2WithoutCpuInterface", kVirtV2, DtErrorCode::kBadProperty, "/intc@8000000", "reg",
     [](Dtb& d) { set_cells(d, "/intc@8000000", "reg", 0x0, 0x08000000, 0x0, 0x10000); }},
    {"RedistributorRegionCountsTooMany", kVirtV3Smp4, DtErrorCode::kTooMany, "/intc@8000000",
     "#redistributor-regions", [](Dtb& d) { set_cells(d, "/intc@8000000", "#redistributor-regions", 9); }},
    {"RedistributorRegionCountsZero", kVirtV3Smp4, DtErrorCode::kBadProperty, "/intc@8000000",
     "#redistributor-regions", [](Dtb& d) { set_cells(d, "/intc@8000000", "#redistributor-regions", 0); }},
    // reg has only one GICR.
    {"RedistributorRegionCountsBeyondReg", kVirtV3Smp4, DtErrorCode::kBadProperty, "/intc@8000000", "reg",
     [](Dtb& d) { set_cells(d, "/intc@8000000", "#redistributor-regions", 2); }},
    {"TwoCellSpecifiersUnsupported", kVirtV2, DtErrorCode::kUnsupported, "/intc@8000000", "#interrupt-cells",
     [](Dtb& d) { set_cells(d, "/intc@8000000", "#interrupt-cells", 2); }},
    // GICv3 extended SPIs are unsupported.
    {"BadMaintenanceInterruptExtendedSpi", kVirtV2, DtErrorCode::kBadProperty, "/intc@8000000", "interrupts",
     [](Dtb& d) { set_cells(d, "/intc@8000000", "interrupts", 2, 9, 4); }},
    // PPI 16 does not exist.
    {"BadMaintenanceInterruptPpi16", kVirtV2, DtErrorCode::kBadProperty, "/intc@8000000", "interrupts",
     [](Dtb& d) { set_cells(d, "/intc@8000000", "interrupts", 1, 16, 4); }},
    // Not a whole specifier.
    {"BadMaintenanceInterruptPartialSpecifier", kVirtV2, DtErrorCode::kBadProperty, "/intc@8000000",
     "interrupts", [](Dtb& d) { set_cells(d, "/intc@8000000", "interrupts", 1, 9); }},
};
INSTANTIATE_TEST_SUITE_P(PlatformGicTest, EditedTreeTest, testing::ValuesIn(kGicCases), case_name);

TEST(PlatformGicTest, MissingGic) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/intc@8000000");
  const DtError e = discover_error(dtb.data());
  expect_dt_error(e, DtErrorCode::kMissingNode, "interrupt-controller", nullptr);
  const std::string detail = e.detail;
  for (const char* compatible :
       {"arm,gic-v3", "arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a7-gic", "arm,cortex-a9-gic"}) {
    EXPECT_NE(detail.find(compatible), std::string::npos) << compatible;
  }
}

// --- timer ----------------------------------------------------------------

// Give synthetic.dts's two-cell controller a phandle and route the timer to it.
void timer_on_legacy_intc(Dtb& dtb, uint32_t legacy_cells) {
  const char* legacy = "/soc/interrupt-controller@e000000";
  set_cells(dtb, legacy, "phandle", 0x77);
  set_cells(dtb, legacy, "#interrupt-cells", legacy_cells);
  set_cells(dtb, "/soc/timer", "interrupt-parent", 0x77);
}

const EditCase kTimerCases[] = {
    {"MissingTimer", kVirtV2, DtErrorCode::kMissingNode, "timer", nullptr,
     [](Dtb& d) { del_node(d, "/timer"); }},
    {"MissingInterrupts", kVirtV2, DtErrorCode::kMissingProperty, "/timer", "interrupts",
     [](Dtb& d) { del_prop(d, "/timer", "interrupts"); }},
    {"ThreeInterruptsAreNotEnough", kVirtV2, DtErrorCode::kBadProperty, "/timer", "interrupts",
     [](Dtb& d) { set_cells(d, "/timer", "interrupts", 1, 13, 4, 1, 14, 4, 1, 11, 4); }},
    {"OutOfRangeInterrupt", kVirtV2, DtErrorCode::kBadProperty, "/timer", "interrupts",
     [](Dtb& d) { set_cells(d, "/timer", "interrupts", 1, 13, 4, 1, 14, 4, 0, 1000, 4, 1, 10, 4); }},
    {"DanglingInterruptParent", kVirtV2, DtErrorCode::kBadProperty, "/timer", "interrupt-parent",
     [](Dtb& d) { set_cells(d, "/timer", "interrupt-parent", 0x1234); }},
    {"NoInterruptParentAnywhere", kVirtV2, DtErrorCode::kMissingProperty, "/timer", "interrupt-parent",
     [](Dtb& d) { del_prop(d, "/", "interrupt-parent"); }},
    {"InterruptParentWithTwoCellsIsUnsupported", kSynthetic, DtErrorCode::kUnsupported, "/soc/timer",
     "interrupts", [](Dtb& d) { timer_on_legacy_intc(d, 2); }},
    {"InterruptParentOtherThanTheGicIsUnsupported", kSynthetic, DtErrorCode::kUnsupported, "/soc/timer",
     "interrupt-parent", [](Dtb& d) { timer_on_legacy_intc(d, 3); }},
    // The parent is inherited: set on /soc, it applies to /soc/timer.
    {"InterruptParentInheritedFromBus", kSynthetic, DtErrorCode::kUnsupported, "/soc/timer", "interrupts",
     [](Dtb& d) {
       set_cells(d, "/soc/interrupt-controller@e000000", "phandle", 0x77);
       set_cells(d, "/soc", "interrupt-parent", 0x77);
     }},
};
INSTANTIATE_TEST_SUITE_P(PlatformTimerTest, EditedTreeTest, testing::ValuesIn(kTimerCases), case_name);

// --- console --------------------------------------------------------------

const EditCase kConsoleCases[] = {
    {"NoStdoutPathAndNoPl011", kVirtV2, DtErrorCode::kMissingNode, "/chosen", "stdout-path",
     [](Dtb& d) {
       del_prop(d, "/chosen", "stdout-path");
       del_node(d, "/pl011@9000000");
     },
     kConsole | kDiscovery},
    {"StdoutPathToMissingNode", kVirtV2, DtErrorCode::kMissingNode, "/serial@1234", "stdout-path",
     [](Dtb& d) { set_string(d, "/chosen", "stdout-path", "/serial@1234:115200n8"); }, kConsole},
    {"StdoutPathWithUnknownAlias", kVirtV2, DtErrorCode::kMissingNode, "serial7", "stdout-path",
     [](Dtb& d) { set_string(d, "/chosen", "stdout-path", "serial7:115200n8"); }, kConsole},
    {"StdoutPathWithUnknownAliasAndNoAliases", kVirtV2, DtErrorCode::kMissingNode, "serial7", "stdout-path",
     [](Dtb& d) {
       set_string(d, "/chosen", "stdout-path", "serial7:115200n8");
       del_node(d, "/aliases");
     },
     kConsole},
    // libfdt would recurse forever on an alias whose value is itself an alias.
    {"SelfReferentialAliasIsRejected", kVirtV2, DtErrorCode::kBadProperty, "/aliases", nullptr,
     [](Dtb& d) {
       set_string(d, "/aliases", "serial0", "serial0");
       set_string(d, "/chosen", "stdout-path", "serial0");
     },
     kConsole},
    {"UnterminatedStdoutPath", kVirtV2, DtErrorCode::kBadProperty, "/chosen", "stdout-path",
     [](Dtb& d) { set_unterminated(d, "/chosen", "stdout-path", "/pl011@9000000"); }, kConsole},
    {"EmptyStdoutPath", kVirtV2, DtErrorCode::kBadProperty, "/chosen", "stdout-path",
     [](Dtb& d) { set_string(d, "/chosen", "stdout-path", ""); }, kConsole},
    {"StdoutPathOfOptionsOnly", kVirtV2, DtErrorCode::kBadProperty, "/chosen", "stdout-path",
     [](Dtb& d) { set_string(d, "/chosen", "stdout-path", ":115200"); }, kConsole},
    {"Pl011WithoutReg", kVirtV2, DtErrorCode::kMissingProperty, "/pl011@9000000", "reg",
     [](Dtb& d) { del_prop(d, "/pl011@9000000", "reg"); }, kConsole},
    {"BusWithoutRangesIsUntranslatable", kSynthetic, DtErrorCode::kUntranslatable, "/isolated-bus", "ranges",
     [](Dtb& d) { set_string(d, "/chosen", "stdout-path", "/isolated-bus/serial@3000"); }, kConsole},
    {"AddressOutsideTheBusWindowIsUntranslatable", kSynthetic, DtErrorCode::kUntranslatable,
     "/soc/bridge@1000000", "ranges",
     [](Dtb& d) {
       set_string(d, "/soc/bridge@1000000/unmapped@200000", "compatible", "arm,pl011");
       set_string(d, "/chosen", "stdout-path", "bus/unmapped@200000");
     },
     kConsole},
    {"MalformedRanges", kSynthetic, DtErrorCode::kBadProperty, "/soc", "ranges",
     [](Dtb& d) { set_cells(d, "/soc", "ranges", 0x0, 0x0, 0x20000000, 0x10000000, 0x0); }},
};
INSTANTIATE_TEST_SUITE_P(PlatformConsoleTest, EditedTreeTest, testing::ValuesIn(kConsoleCases), case_name);

// The point of find_console_uart: a tree that fails discovery still has a
// console to complain on.
TEST(PlatformConsoleTest, ConsoleFoundEvenWhenDiscoveryFails) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/cpus");
  del_node(dtb, "/memory@40000000");
  expect_discovery_error(dtb, DtErrorCode::kMissingNode, "/memory", nullptr);
  const auto uart = find_console_uart(dtb.data());
  ASSERT_TRUE(uart.ok()) << describe(uart.error());
  EXPECT_EQ(uart.value().regs.base, mm::PhysAddr(0x09000000));
  EXPECT_STREQ(uart.value().path, "/pl011@9000000");
}

TEST(PlatformConsoleTest, NoChosenFallsBackToPl011) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  del_node(dtb, "/chosen");
  const auto uart = find_console_uart(dtb.data());
  ASSERT_TRUE(uart.ok()) << describe(uart.error());
  EXPECT_STREQ(uart.value().path, "/pl011@9000000");
}

TEST(PlatformConsoleTest, StdoutPathToNonPl011) {
  Dtb dtb = Dtb::load(kVirtV2).editable();
  set_string(dtb, "/chosen", "stdout-path", "/intc@8000000");
  const DtError e = find_console_uart(dtb.data()).error();
  expect_dt_error(e, DtErrorCode::kUnsupported, "/intc@8000000", "compatible");
  EXPECT_NE(std::string(e.detail).find("arm,pl011"), std::string::npos);
  expect_discovery_error(dtb, DtErrorCode::kUnsupported, "/intc@8000000", "compatible");
}

}  // namespace
}  // namespace lamina::hyp
