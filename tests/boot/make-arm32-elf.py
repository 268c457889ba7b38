#!/usr/bin/env python3
"""Writes a minimal 32-bit Arm ELF executable (ELFCLASS32, EM_ARM, one PT_LOAD
segment of a few instructions): what a user might mistakenly give lamina as a
guest kernel. lamina must refuse it at VM creation (issue 4)."""
import struct
import sys

code = struct.pack("<4I", 0xE3A00000, 0xE12FFF1E, 0, 0)  # mov r0, #0; bx lr
ehsize, phentsize = 52, 32
phoff = ehsize
offset = ehsize + phentsize
header = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)  # ELFCLASS32, little-endian, version 1
header += struct.pack("<HHIIIIIHHHHHH", 2, 40, 1, 0x40080000, phoff, 0, 0x5000000, ehsize, phentsize, 1, 0, 0, 0)
phdr = struct.pack("<IIIIIIII", 1, offset, 0x40080000, 0x40080000, len(code), len(code), 5, 4)
with open(sys.argv[1], "wb") as f:
    f.write(header + phdr + code)
