// Tests for hyp/vm/guest_payload: the guest boot-payload plan.
//
// Every header is written byte by byte from its specification (the arm64
// Image header from Linux Documentation/arch/arm64/booting.rst, ELF64 from
// the System V gABI), never through the code under test. The expected
// addresses for Images, raw binaries and ELF files are what QEMU 10.0.2's
// `-M virt -kernel/-initrd` does with the same files; they were measured with
// tests/fixtures/vm/measure-qemu-placement.sh (a probe that prints its PC,
// x0 and the word at RAM base) and are repeated here as literals.
#include "hyp/vm/guest_payload.hpp"

#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <span>
#include <vector>

namespace lamina::hyp {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr uint64_t kRamBase = 0x4000'0000;

using Bytes = std::vector<uint8_t>;

void put_le(Bytes& b, size_t offset, uint64_t value, size_t width) {
  if (b.size() < offset + width) b.resize(offset + width);
  for (size_t i = 0; i < width; ++i) b[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

// A Linux arm64 Image (booting.rst "Call the kernel image"): code0 at 0,
// text_offset (LE64) at 8, image_size (LE64) at 16, flags (LE64) at 24,
// magic "ARM\x64" at 56; `file_size` bytes in all.
Bytes image(uint64_t text_offset, uint64_t image_size, uint64_t flags = 0xa, size_t file_size = 0x1000) {
  Bytes b(file_size, 0);
  put_le(b, 0, 0x14000010, 4);  // b #0x40: a branch over the header
  put_le(b, 8, text_offset, 8);
  put_le(b, 16, image_size, 8);
  put_le(b, 24, flags, 8);
  b[56] = 'A';
  b[57] = 'R';
  b[58] = 'M';
  b[59] = 0x64;
  return b;
}

struct Segment {
  uint32_t type = 1;  // PT_LOAD
  uint64_t offset = 0;
  uint64_t paddr = 0;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
};

struct ElfSpec {
  uint8_t elf_class = 2;  // ELFCLASS64
  uint8_t data = 1;       // ELFDATA2LSB
  uint8_t ident_version = 1;
  uint16_t type = 2;       // ET_EXEC
  uint16_t machine = 183;  // EM_AARCH64
  uint32_t version = 1;
  uint64_t entry = 0;
  uint64_t phoff = 64;
  uint16_t phentsize = 56;
  std::vector<Segment> segments;
  // Overrides phnum when non-zero (to lie about the table).
  uint32_t phnum_override = 0;
  size_t file_size = 0;  // 0: just past the last byte written
};

// An ELF64 file (gABI "ELF Header": e_ident[16], e_type@16, e_machine@18,
// e_version@20, e_entry@24, e_phoff@32, e_shoff@40, e_flags@48,
// e_ehsize@52, e_phentsize@54, e_phnum@56; "Program Header" (56 bytes):
// p_type@0, p_flags@4, p_offset@8, p_vaddr@16, p_paddr@24, p_filesz@32,
// p_memsz@40, p_align@48). p_vaddr is set to a different value than p_paddr
// on purpose: lamina loads at p_paddr.
Bytes elf(const ElfSpec& s) {
  Bytes b(64, 0);
  b[0] = 0x7f;
  b[1] = 'E';
  b[2] = 'L';
  b[3] = 'F';
  b[4] = s.elf_class;
  b[5] = s.data;
  b[6] = s.ident_version;
  put_le(b, 16, s.type, 2);
  put_le(b, 18, s.machine, 2);
  put_le(b, 20, s.version, 4);
  put_le(b, 24, s.entry, 8);
  put_le(b, 32, s.phoff, 8);
  put_le(b, 52, 64, 2);
  put_le(b, 54, s.phentsize, 2);
  put_le(b, 56, s.phnum_override != 0 ? s.phnum_override : s.segments.size(), 2);
  for (size_t i = 0; i < s.segments.size(); ++i) {
    const size_t ph = static_cast<size_t>(s.phoff) + i * s.phentsize;
    const Segment& seg = s.segments[i];
    put_le(b, ph + 0, seg.type, 4);
    put_le(b, ph + 4, 5, 4);  // PF_R | PF_X
    put_le(b, ph + 8, seg.offset, 8);
    put_le(b, ph + 16, seg.paddr + 0xffff'0000'0000'0000ULL, 8);
    put_le(b, ph + 24, seg.paddr, 8);
    put_le(b, ph + 32, seg.filesz, 8);
    put_le(b, ph + 40, seg.memsz, 8);
    put_le(b, ph + 48, 0x1000, 8);
    if (seg.type == 1 && seg.filesz != 0 && b.size() < seg.offset + seg.filesz)
      b.resize(seg.offset + seg.filesz);
  }
  if (s.file_size != 0) b.resize(s.file_size);
  return b;
}

// A one-segment executable: 0x84 bytes at `paddr`, entered at its start.
Bytes simple_elf(uint64_t paddr, uint64_t memsz = 0x84) {
  ElfSpec s;
  s.entry = paddr;
  s.segments = {{1, 0x1000, paddr, 0x84, memsz}};
  return elf(s);
}

Result<GuestBootPlan, PayloadError> plan(const Bytes& kernel, uint64_t ramdisk = 0,
                                         uint64_t ram_size = 1 * kGiB, uint64_t ram_base = kRamBase) {
  return plan_guest_boot(std::span<const uint8_t>(kernel.data(), kernel.size()), ramdisk,
                         mm::IntermediatePhysAddr(ram_base), ram_size);
}

GuestBootPlan ok_plan(const Bytes& kernel, uint64_t ramdisk = 0, uint64_t ram_size = 1 * kGiB) {
  auto r = plan(kernel, ramdisk, ram_size);
  EXPECT_TRUE(r.ok()) << payload_error_name(r.ok() ? PayloadError::kEmpty : r.error());
  return r.ok() ? r.value() : GuestBootPlan{};
}

PayloadError err(const Bytes& kernel, uint64_t ramdisk = 0, uint64_t ram_size = 1 * kGiB,
                 uint64_t ram_base = kRamBase) {
  auto r = plan(kernel, ramdisk, ram_size, ram_base);
  EXPECT_FALSE(r.ok()) << "planned unexpectedly";
  return r.ok() ? PayloadError::kEmpty : r.error();
}

void expect_copy(const PayloadCopy& c, uint64_t file_offset, uint64_t file_size, uint64_t ipa,
                 uint64_t mem_size) {
  EXPECT_EQ(c.file_offset, file_offset);
  EXPECT_EQ(c.file_size, file_size);
  EXPECT_EQ(c.ipa.value(), ipa);
  EXPECT_EQ(c.mem_size, mem_size);
}

// --- Linux Image ------------------------------------------------------------

struct ImageCase {
  uint64_t text_offset;
  uint64_t image_size;
  uint64_t entry;  // QEMU 10.0.2, 1 GiB at 0x40000000
};

TEST(GuestPayload, ImageEntryMatchesQemu) {
  // text_offset below 4 KiB is moved up by 2 MiB (QEMU's boot stub); an
  // image_size of 0 means "pre-3.17 kernel": 0x80000, text_offset ignored.
  const ImageCase cases[] = {
      {0x0, 0x10000, 0x4020'0000},     {0x800, 0x10000, 0x4020'0800},    {0x1000, 0x10000, 0x4000'1000},
      {0x80000, 0x10000, 0x4008'0000}, {0x200000, 0x10000, 0x4020'0000}, {0x1000, 0, 0x4008'0000},
  };
  for (const ImageCase& c : cases) {
    SCOPED_TRACE(testing::Message() << "text_offset " << std::hex << c.text_offset << " image_size "
                                    << c.image_size);
    const Bytes k = image(c.text_offset, c.image_size, 0xa, 196);
    const GuestBootPlan p = ok_plan(k);
    EXPECT_EQ(p.kind, PayloadKind::kLinuxImage);
    EXPECT_EQ(p.entry.value(), c.entry);
    ASSERT_EQ(p.copy_count, 1u);
    expect_copy(p.copies[0], 0, 196, c.entry, c.image_size == 0 ? 196 : c.image_size);
    EXPECT_EQ(p.dtb.value(), 0x4800'0000u);  // RAM base + 128 MiB
    EXPECT_EQ(p.dtb_size, 2 * kMiB);
    EXPECT_EQ(p.initrd_size, 0u);
  }
}

TEST(GuestPayload, ImageLargerThan128MiBPushesInitrdAndDtbUp) {
  // QEMU: image_size 0x9000000 at 0x40200000 ends at 0x49200000: initrd
  // there, DTB at the next 2 MiB after it. 0x9000123 ends mid-page: the
  // initrd starts at the next page.
  GuestBootPlan p = ok_plan(image(0, 0x900'0000, 0xa, 196));
  EXPECT_EQ(p.dtb.value(), 0x4920'0000u);
  p = ok_plan(image(0, 0x900'0000, 0xa, 196), 5000);
  EXPECT_EQ(p.initrd.value(), 0x4920'0000u);
  EXPECT_EQ(p.initrd_size, 5000u);
  EXPECT_EQ(p.dtb.value(), 0x4940'0000u);
  p = ok_plan(image(0, 0x900'0123, 0xa, 196));
  EXPECT_EQ(p.dtb.value(), 0x4940'0000u);  // 2 MiB above the page after the image
  p = ok_plan(image(0, 0x900'0123, 0xa, 196), 5000);
  EXPECT_EQ(p.initrd.value(), 0x4920'1000u);
  EXPECT_EQ(p.dtb.value(), 0x4940'0000u);
}

TEST(GuestPayload, ImageReservesTheLargerOfImageSizeAndFile) {
  // An image_size below the file size (nonsense, but harmless): the whole
  // file is still copied and reserved.
  const GuestBootPlan p = ok_plan(image(0x80000, 0x100, 0xa, 0x3000));
  expect_copy(p.copies[0], 0, 0x3000, 0x4008'0000, 0x3000);
}

TEST(GuestPayload, ImageWithEfiStubIsAnImage) {
  // Debian's vmlinuz: "MZ" at byte 0 (the PE header for the EFI stub) and
  // the arm64 magic at 56. Not an EFI zboot file (no "zimg" at 4).
  Bytes k = image(0, 0x200'0000, 0xa);
  k[0] = 'M';
  k[1] = 'Z';
  const GuestBootPlan p = ok_plan(k);
  EXPECT_EQ(p.kind, PayloadKind::kLinuxImage);
  EXPECT_EQ(p.entry.value(), 0x4020'0000u);
}

TEST(GuestPayload, ImageErrors) {
  EXPECT_EQ(err(image(0, 0x10000, 0xb)), PayloadError::kBigEndian);  // flags bit 0
  EXPECT_EQ(err(image(0x1002, 0x10000)), PayloadError::kBadEntry);   // entry not 4-byte aligned
  EXPECT_EQ(err(image(0, 1 * kGiB)), PayloadError::kDoesNotFit);     // image_size beyond RAM
  EXPECT_EQ(err(image(0xffff'ffff'ffff'0000ULL, 0x10000)), PayloadError::kDoesNotFit);
  EXPECT_EQ(err(image(1 * kGiB, 0x10000)), PayloadError::kDoesNotFit);
  // The magic, but not the whole 64-byte header.
  EXPECT_EQ(err(image(0, 0x10000, 0xa, 60)), PayloadError::kBadImage);
}

TEST(GuestPayload, ImageExactlyFillingRamBelowTheDtb) {
  // 64 MiB of RAM: initrd start = base + 32 MiB; a kernel ending exactly
  // there leaves [base + 32 MiB, + 2 MiB) for the DTB.
  const uint64_t size = 32 * kMiB - 0x20'0000;
  const GuestBootPlan p = ok_plan(image(0, size), 0, 64 * kMiB);
  EXPECT_EQ(p.dtb.value(), kRamBase + 32 * kMiB);
  // A kernel reaching the last 64 KiB - 1 of RAM leaves no DTB slot.
  EXPECT_EQ(err(image(0, 64 * kMiB - 0x20'0000 - kGuestDtbMinSize + 1), 0, 64 * kMiB),
            PayloadError::kDoesNotFit);
}

// --- raw binaries -----------------------------------------------------------

TEST(GuestPayload, RawBinaryMatchesQemu) {
  const Bytes k(132, 0xd5);  // no recognised magic
  GuestBootPlan p = ok_plan(k);
  EXPECT_EQ(p.kind, PayloadKind::kRaw);
  EXPECT_EQ(p.entry.value(), 0x4008'0000u);
  ASSERT_EQ(p.copy_count, 1u);
  expect_copy(p.copies[0], 0, 132, 0x4008'0000, 132);
  EXPECT_EQ(p.dtb.value(), 0x4800'0000u);

  p = ok_plan(k, 5000);
  EXPECT_EQ(p.initrd.value(), 0x4800'0000u);
  EXPECT_EQ(p.initrd_size, 5000u);
  EXPECT_EQ(p.dtb.value(), 0x4820'0000u);

  // 128 MiB: initrd at RAM base + 64 MiB.
  p = ok_plan(k, 0, 128 * kMiB);
  EXPECT_EQ(p.dtb.value(), 0x4400'0000u);
  p = ok_plan(k, 5000, 128 * kMiB);
  EXPECT_EQ(p.initrd.value(), 0x4400'0000u);
  EXPECT_EQ(p.dtb.value(), 0x4420'0000u);
}

TEST(GuestPayload, RawBinaryAboveFourGiB) {
  // 8 GiB of RAM: min(RAM / 2, 128 MiB) is still 128 MiB.
  const GuestBootPlan p = ok_plan(Bytes(16, 1), 0, 8 * kGiB);
  EXPECT_EQ(p.dtb.value(), 0x4800'0000u);
}

TEST(GuestPayload, ShortFilesAreRaw) {
  // Too short for any magic: raw, including a lone 0x7f.
  EXPECT_EQ(ok_plan(Bytes{0x7f}).kind, PayloadKind::kRaw);
  EXPECT_EQ(ok_plan(Bytes{0x7f, 'E', 'L'}).kind, PayloadKind::kRaw);
  EXPECT_EQ(ok_plan(Bytes{0x1f}).kind, PayloadKind::kRaw);
}

TEST(GuestPayload, InitrdAndDtbMustFit) {
  const Bytes k(132, 0);
  // 16 MiB: initrd at base + 8 MiB; 8 MiB - 4 KiB of initrd leaves the DTB
  // at base + 16 MiB = the end of RAM.
  EXPECT_EQ(err(k, 8 * kMiB - 4 * kKiB, 16 * kMiB), PayloadError::kDoesNotFit);
  EXPECT_EQ(err(k, 8 * kMiB + 1, 16 * kMiB), PayloadError::kDoesNotFit);
  // 6 MiB leaves [base + 14 MiB, base + 16 MiB) for the DTB.
  const GuestBootPlan p = ok_plan(k, 6 * kMiB, 16 * kMiB);
  EXPECT_EQ(p.initrd.value(), kRamBase + 8 * kMiB);
  EXPECT_EQ(p.dtb.value(), kRamBase + 14 * kMiB);
  EXPECT_EQ(p.dtb_size, 2 * kMiB);
  EXPECT_EQ(err(k, UINT64_MAX), PayloadError::kDoesNotFit);
  // Less than 2 MiB but at least 64 KiB left for the DTB: a smaller slot.
  // 16 MiB + 64 KiB: initrd at base + 8 MiB + 32 KiB, 7 MiB long; DTB at
  // base + 16 MiB with 64 KiB.
  const GuestBootPlan small = ok_plan(k, 7 * kMiB, 16 * kMiB + 64 * kKiB);
  EXPECT_EQ(small.initrd.value(), kRamBase + 8 * kMiB + 32 * kKiB);
  EXPECT_EQ(small.dtb.value(), kRamBase + 16 * kMiB);
  EXPECT_EQ(small.dtb_size, 64 * kKiB);
}

// --- ELF ----------------------------------------------------------------------

TEST(GuestPayload, ElfDtbAtRamBaseLikeQemu) {
  // QEMU 10.0.2 puts its (1 MiB) DTB at RAM base when it fits below the
  // image: ELF at 0x40200000, 0x40100000, 0x50000000. lamina's slot is up
  // to 2 MiB, bounded by the image.
  struct {
    uint64_t paddr;
    uint64_t dtb_size;
  } cases[] = {
      {0x4020'0000, 2 * kMiB}, {0x4010'0000, 1 * kMiB}, {0x5000'0000, 2 * kMiB}, {0x4001'0000, 64 * kKiB}};
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << std::hex << c.paddr);
    const GuestBootPlan p = ok_plan(simple_elf(c.paddr));
    EXPECT_EQ(p.kind, PayloadKind::kElf);
    EXPECT_EQ(p.entry.value(), c.paddr);
    ASSERT_EQ(p.copy_count, 1u);
    expect_copy(p.copies[0], 0x1000, 0x84, c.paddr, 0x84);
    EXPECT_EQ(p.dtb.value(), kRamBase);
    EXPECT_EQ(p.dtb_size, c.dtb_size);
  }
}

TEST(GuestPayload, ElfAtRamBaseGetsItsDtbAfterTheImage) {
  // No room below (QEMU then places no DTB at all): the next 2 MiB
  // boundary after the image.
  GuestBootPlan p = ok_plan(simple_elf(0x4000'0000));
  EXPECT_EQ(p.dtb.value(), 0x4020'0000u);
  EXPECT_EQ(p.dtb_size, 2 * kMiB);
  p = ok_plan(simple_elf(0x4000'1000, 0x30'0000));  // 4 KiB below: too little
  EXPECT_EQ(p.dtb.value(), 0x4040'0000u);
  // With an initrd, after the initrd.
  p = ok_plan(simple_elf(0x4000'0000), 5000);
  EXPECT_EQ(p.initrd.value(), 0x4800'0000u);
  EXPECT_EQ(p.dtb.value(), 0x4820'0000u);
}

TEST(GuestPayload, ElfInitrd) {
  // Where QEMU would compute it (QEMU loads no initrd with an ELF kernel)...
  GuestBootPlan p = ok_plan(simple_elf(0x4020'0000), 5000);
  EXPECT_EQ(p.initrd.value(), 0x4800'0000u);
  EXPECT_EQ(p.initrd_size, 5000u);
  EXPECT_EQ(p.dtb.value(), kRamBase);
  // ...unless the image is there: then right after the image, page aligned.
  p = ok_plan(simple_elf(0x47ff'f000, 0x2345), 5000);
  EXPECT_EQ(p.initrd.value(), 0x4800'2000u);
  EXPECT_EQ(p.dtb.value(), kRamBase);
  // An image entirely above the default start does not move the initrd.
  p = ok_plan(simple_elf(0x5000'0000), 5000);
  EXPECT_EQ(p.initrd.value(), 0x4800'0000u);
  // An initrd that would overlap an image above it moves past the image.
  p = ok_plan(simple_elf(0x4800'1000), 5000);
  EXPECT_EQ(p.initrd.value(), 0x4800'2000u);
}

TEST(GuestPayload, ElfSegments) {
  // Text, data with BSS, a BSS-only segment, a PT_NOTE, a PT_LOAD with
  // memsz 0, and a larger phentsize: copies follow the PT_LOADs in order.
  ElfSpec s;
  s.type = 3;  // ET_DYN: loaded at p_paddr as well, without relocation
  s.entry = 0x4020'0040;
  s.phentsize = 64;
  s.segments = {
      {1, 0x1000, 0x4020'0000, 0x800, 0x800},  {4, 0x100, 0, 0x20, 0x20},  // PT_NOTE
      {1, 0x2000, 0x4020'1000, 0x200, 0x3000}, {1, 0x3000, 0x4030'0000, 0, 0x1000},
      {1, 0x2000, 0x4040'0000, 0, 0},
  };
  const GuestBootPlan p = ok_plan(elf(s));
  EXPECT_EQ(p.entry.value(), 0x4020'0040u);
  ASSERT_EQ(p.copy_count, 3u);
  expect_copy(p.copies[0], 0x1000, 0x800, 0x4020'0000, 0x800);
  expect_copy(p.copies[1], 0x2000, 0x200, 0x4020'1000, 0x3000);
  expect_copy(p.copies[2], 0, 0, 0x4030'0000,
              0x1000);  // p_offset 0x3000 is past EOF: irrelevant, reported as 0
  EXPECT_EQ(p.dtb.value(), kRamBase);
}

TEST(GuestPayload, ElfSixteenSegmentsButNotSeventeen) {
  ElfSpec s;
  s.entry = 0x4020'0000;
  for (uint64_t i = 0; i < 17; ++i) s.segments.push_back({1, 0x1000, 0x4020'0000 + i * 0x1000, 0x10, 0x10});
  EXPECT_EQ(err(elf(s)), PayloadError::kTooManySegments);
  s.segments.pop_back();
  EXPECT_EQ(ok_plan(elf(s)).copy_count, 16u);
  // Segments that touch do not overlap.
  s.segments = {{1, 0x1000, 0x4020'0000, 0x10, 0x1000}, {1, 0x1000, 0x4020'1000, 0x10, 0x10}};
  EXPECT_EQ(ok_plan(elf(s)).copy_count, 2u);
  // PN_XNUM: more program headers than e_phnum can say.
  s.phnum_override = 0xffff;
  EXPECT_EQ(err(elf(s)), PayloadError::kTooManySegments);
}

TEST(GuestPayload, ElfArchitectureAndEndianness) {
  ElfSpec s;
  s.entry = 0x4020'0000;
  s.segments = {{1, 0x1000, 0x4020'0000, 0x84, 0x84}};
  ElfSpec c = s;
  c.elf_class = 1;  // ELFCLASS32
  EXPECT_EQ(err(elf(c)), PayloadError::kAArch32);
  c = s;
  c.machine = 40;  // EM_ARM in an ELF64 container
  EXPECT_EQ(err(elf(c)), PayloadError::kAArch32);
  c = s;
  c.data = 2;  // ELFDATA2MSB
  EXPECT_EQ(err(elf(c)), PayloadError::kBigEndian);
  c = s;
  c.machine = 62;  // EM_X86_64
  EXPECT_EQ(err(elf(c)), PayloadError::kNotAArch64);
  // A 32-bit ELF is refused by its identification alone, even truncated.
  Bytes ident = elf(c);
  ident.resize(16);
  ident[4] = 1;
  EXPECT_EQ(err(ident), PayloadError::kAArch32);
}

TEST(GuestPayload, MalformedElf) {
  ElfSpec s;
  s.entry = 0x4020'0000;
  s.segments = {{1, 0x1000, 0x4020'0000, 0x84, 0x84}};
  auto bad = [&](auto mutate) {
    ElfSpec c = s;
    mutate(c);
    return err(elf(c));
  };
  EXPECT_EQ(bad([](ElfSpec& c) { c.elf_class = 3; }), PayloadError::kBadElf);
  EXPECT_EQ(bad([](ElfSpec& c) { c.data = 0; }), PayloadError::kBadElf);
  EXPECT_EQ(bad([](ElfSpec& c) { c.ident_version = 0; }), PayloadError::kBadElf);
  EXPECT_EQ(bad([](ElfSpec& c) { c.version = 2; }), PayloadError::kBadElf);
  EXPECT_EQ(bad([](ElfSpec& c) { c.type = 1; }), PayloadError::kBadElf);  // ET_REL
  EXPECT_EQ(bad([](ElfSpec& c) { c.type = 4; }), PayloadError::kBadElf);  // ET_CORE
  EXPECT_EQ(bad([](ElfSpec& c) { c.phentsize = 55; }), PayloadError::kBadElf);
  EXPECT_EQ(bad([](ElfSpec& c) { c.segments.clear(); }), PayloadError::kBadElf);           // phnum 0
  EXPECT_EQ(bad([](ElfSpec& c) { c.segments[0].type = 4; }), PayloadError::kBadElf);       // no PT_LOAD
  EXPECT_EQ(bad([](ElfSpec& c) { c.segments[0].memsz = 0x83; }), PayloadError::kBadElf);   // filesz > memsz
  EXPECT_EQ(bad([](ElfSpec& c) { c.file_size = 0x1000 + 0x83; }), PayloadError::kBadElf);  // segment past EOF
  EXPECT_EQ(bad([](ElfSpec& c) { c.file_size = 63; }), PayloadError::kBadElf);             // header truncated
  EXPECT_EQ(bad([](ElfSpec& c) { c.file_size = 100; }), PayloadError::kBadElf);            // table truncated
  EXPECT_EQ(bad([](ElfSpec& c) {
              c.phoff = 0x1100;  // the table starts in the file but ends past it
              c.file_size = 0x1100 + 40;
            }),
            PayloadError::kBadElf);
  EXPECT_EQ(bad([](ElfSpec& c) { c.segments[0].paddr = UINT64_MAX - 0x10; }),
            PayloadError::kBadElf);  // wraps
  // e_phoff so large that the table end wraps.
  {
    Bytes b = elf(s);
    for (size_t i = 0; i < 8; ++i) b[32 + i] = 0xff;
    EXPECT_EQ(err(b), PayloadError::kBadElf);
  }
  // p_offset + p_filesz wraps.
  {
    ElfSpec c = s;
    c.segments[0].offset = UINT64_MAX - 0x10;
    c.segments[0].filesz = 0x20;
    c.segments[0].memsz = 0x20;
    c.file_size = 0x2000;
    EXPECT_EQ(err(elf(c)), PayloadError::kBadElf);
  }
}

TEST(GuestPayload, ElfPlacementErrors) {
  ElfSpec s;
  s.entry = 0x4020'0000;
  s.segments = {{1, 0x1000, 0x4020'0000, 0x84, 0x84}};
  ElfSpec c = s;
  c.entry = 0x4020'0084;  // just past the segment
  EXPECT_EQ(err(elf(c)), PayloadError::kBadEntry);
  c.entry = 0x4020'0002;  // misaligned
  EXPECT_EQ(err(elf(c)), PayloadError::kBadEntry);
  c = s;
  c.segments[0].paddr = 0x3fff'f000;  // below RAM
  c.entry = 0x3fff'f000;
  EXPECT_EQ(err(elf(c)), PayloadError::kOutsideRam);
  c = s;
  c.segments[0].paddr = 0x8000'0000 - 0x40;  // crosses the end of 1 GiB
  c.entry = c.segments[0].paddr;
  EXPECT_EQ(err(elf(c)), PayloadError::kOutsideRam);
  c = s;
  c.segments.push_back({1, 0x1000, 0x4020'0080, 0x4, 0x4});  // overlaps the first by 4 bytes
  EXPECT_EQ(err(elf(c)), PayloadError::kOverlap);
  // The image ends so close to the end of RAM that no DTB slot is left.
  c = s;
  c.segments[0] = {1, 0x1000, 0x4000'0000, 0x84, 1 * kGiB - 0x1000};
  c.entry = 0x4000'0000;
  EXPECT_EQ(err(elf(c)), PayloadError::kDoesNotFit);
  // An initrd that does not fit after the image.
  EXPECT_EQ(err(simple_elf(0x4800'0000, 512 * kMiB), 512 * kMiB), PayloadError::kDoesNotFit);
}

// --- refusals by magic ----------------------------------------------------------

TEST(GuestPayload, RefusedFormats) {
  EXPECT_EQ(err(Bytes{}), PayloadError::kEmpty);
  EXPECT_EQ(err(Bytes{0x1f, 0x8b, 0x08, 0x00}), PayloadError::kCompressed);  // gzip
  Bytes zboot(64, 0);
  zboot[0] = 'M';
  zboot[1] = 'Z';
  zboot[4] = 'z';
  zboot[5] = 'i';
  zboot[6] = 'm';
  zboot[7] = 'g';
  EXPECT_EQ(err(zboot), PayloadError::kCompressed);
  // A 32-bit ARM zImage: 0x016f2818 (LE) at 0x24.
  Bytes zimage(0x100, 0);
  put_le(zimage, 0x24, 0x016f2818, 4);
  EXPECT_EQ(err(zimage), PayloadError::kAArch32);
  // The same bytes elsewhere are just a raw binary.
  Bytes raw(0x100, 0);
  put_le(raw, 0x28, 0x016f2818, 4);
  EXPECT_EQ(ok_plan(raw).kind, PayloadKind::kRaw);
}

TEST(GuestPayload, BadRam) {
  const Bytes k(16, 0);
  EXPECT_EQ(err(k, 0, 0), PayloadError::kBadRam);
  EXPECT_EQ(err(k, 0, 1 * kGiB, 0x4000'1000), PayloadError::kBadRam);               // not 2 MiB aligned
  EXPECT_EQ(err(k, 0, 1 * kGiB + 1), PayloadError::kBadRam);                        // not whole pages
  EXPECT_EQ(err(k, 0, 4 * kMiB, 0xffff'ffff'ffe0'0000ULL), PayloadError::kBadRam);  // wraps
  // RAM at IPA 0 is fine.
  EXPECT_EQ(ok_plan(k).entry.value(), 0x4008'0000u);
  const GuestBootPlan at_zero = plan(k, 0, 1 * kGiB, 0).value();
  EXPECT_EQ(at_zero.entry.value(), 0x80000u);
  EXPECT_EQ(at_zero.dtb.value(), 0x800'0000u);
  // RAM at the very top: [2^64 - 6 MiB, 2^64 - 3.5 MiB): raw at base +
  // 0x80000, DTB at base + 2 MiB with the 512 KiB that are left.
  const GuestBootPlan top = plan(k, 0, 2 * kMiB + 0x80000, 0xffff'ffff'ffa0'0000ULL).value();
  EXPECT_EQ(top.entry.value(), 0xffff'ffff'ffa8'0000ULL);
  EXPECT_EQ(top.dtb.value(), 0xffff'ffff'ffc0'0000ULL);
  EXPECT_EQ(top.dtb_size, 512 * kKiB);
}

TEST(GuestPayload, NamesAreDistinct) {
  const PayloadError all[] = {
      PayloadError::kBadRam,   PayloadError::kEmpty,      PayloadError::kCompressed,
      PayloadError::kAArch32,  PayloadError::kBigEndian,  PayloadError::kNotAArch64,
      PayloadError::kBadImage, PayloadError::kBadElf,     PayloadError::kTooManySegments,
      PayloadError::kBadEntry, PayloadError::kOutsideRam, PayloadError::kDoesNotFit,
      PayloadError::kOverlap};
  for (size_t i = 0; i < std::size(all); ++i) {
    for (size_t j = 0; j < i; ++j) EXPECT_STRNE(payload_error_name(all[i]), payload_error_name(all[j]));
  }
  EXPECT_STREQ(payload_error_name(PayloadError::kAArch32), "32-bit (AArch32) guests are not supported");
  EXPECT_STREQ(payload_kind_name(PayloadKind::kLinuxImage), "Linux arm64 Image");
  EXPECT_STREQ(payload_kind_name(PayloadKind::kElf), "ELF");
  EXPECT_STREQ(payload_kind_name(PayloadKind::kRaw), "raw binary");
}

// --- randomized: whatever the bytes, a plan is self-consistent ------------------

// Checks a plan against the contract, computed here independently: every
// range inside RAM, nothing overlapping, file ranges inside the file, the
// DTB slot 64 KiB..2 MiB, the entry inside a copy.
void expect_consistent(const GuestBootPlan& p, size_t file_size, uint64_t ramdisk, uint64_t ram_base,
                       uint64_t ram_size) {
  struct R {
    uint64_t base, size;
  };
  std::vector<R> ranges;
  bool entry_in_copy = false;
  ASSERT_GE(p.copy_count, 1u);
  ASSERT_LE(p.copy_count, kMaxPayloadCopies);
  for (size_t i = 0; i < p.copy_count; ++i) {
    const PayloadCopy& c = p.copies[i];
    EXPECT_LE(c.file_size, c.mem_size);
    EXPECT_LE(c.file_offset, file_size);
    EXPECT_LE(c.file_size, file_size - c.file_offset);
    ranges.push_back({c.ipa.value(), c.mem_size});
    entry_in_copy |= p.entry.value() >= c.ipa.value() && p.entry.value() - c.ipa.value() < c.mem_size;
  }
  EXPECT_TRUE(entry_in_copy);
  EXPECT_EQ(p.entry.value() % 4, 0u);
  EXPECT_GE(p.dtb_size, kGuestDtbMinSize);
  EXPECT_LE(p.dtb_size, kGuestDtbMaxSize);
  ranges.push_back({p.dtb.value(), p.dtb_size});
  EXPECT_EQ(p.initrd_size, ramdisk);
  if (ramdisk != 0) {
    EXPECT_EQ(p.initrd.value() % 4096, 0u);
    ranges.push_back({p.initrd.value(), p.initrd_size});
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_GE(ranges[i].base, ram_base);
    EXPECT_LE(ranges[i].size, ram_base + ram_size - ranges[i].base);
    for (size_t j = 0; j < i; ++j) {
      const bool apart = ranges[i].base + ranges[i].size <= ranges[j].base ||
                         ranges[j].base + ranges[j].size <= ranges[i].base;
      EXPECT_TRUE(apart) << i << " overlaps " << j;
    }
  }
}

TEST(GuestPayload, RandomizedHeadersNeverYieldAnInconsistentPlan) {
  std::mt19937_64 rng(0x1a2b3c4d);
  size_t planned = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    Bytes k;
    const uint64_t ram_size = (uint64_t{16} << (rng() % 8)) * kMiB;  // 16 MiB .. 2 GiB
    const uint64_t ramdisk = rng() % 3 == 0 ? 0 : rng() % (64 * kMiB);
    switch (rng() % 3) {
      case 0: {  // an ELF with a few random segments
        ElfSpec s;
        const size_t n = 1 + rng() % 4;
        for (size_t i = 0; i < n; ++i) {
          const uint64_t paddr = kRamBase + (rng() % (ram_size / 4096)) * 4096 + (rng() % 2) * (rng() % 4096);
          const uint64_t filesz = rng() % 0x3000;
          s.segments.push_back({1, 0x1000 + rng() % 0x1000, paddr, filesz, filesz + rng() % (8 * kMiB)});
        }
        s.entry = s.segments[rng() % n].paddr + (rng() % 16) * 4;
        k = elf(s);
        break;
      }
      case 1:  // an Image with random offsets and sizes
        k = image(rng() % 2 ? rng() % (4 * kMiB) : rng(), rng() % 2 ? rng() % (256 * kMiB) : 0, rng() % 16,
                  64 + rng() % 4096);
        break;
      default:  // random bytes, mostly raw
        k.resize(1 + rng() % 256);
        for (uint8_t& byte : k) byte = static_cast<uint8_t>(rng());
        break;
    }
    // Random corruption of a few bytes in the first 256.
    for (int flips = static_cast<int>(rng() % 3); flips > 0; --flips) {
      k[rng() % std::min<size_t>(k.size(), 256)] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    auto r = plan(k, ramdisk, ram_size);
    if (!r.ok()) continue;
    ++planned;
    SCOPED_TRACE(iteration);
    expect_consistent(r.value(), k.size(), ramdisk, kRamBase, ram_size);
    if (HasFailure()) break;
  }
  RecordProperty("planned", static_cast<int>(planned));
  EXPECT_GT(planned, 5000u);  // the generator mostly produces loadable files
}

}  // namespace
}  // namespace lamina::hyp
