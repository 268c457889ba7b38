#!/usr/bin/env python3
"""Tests of guest-images/mkinitramfs.py (run: python3 -m unittest guest-images/test_mkinitramfs.py).

Expected bytes are written out by hand from the newc format description
(Linux Documentation/driver-api/early-userspace/buffer-format.rst and
usr/gen_init_cpio.c's trailer), not taken from the writer's output.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("mkinitramfs", HERE / "mkinitramfs.py")
mk = importlib.util.module_from_spec(_spec)
sys.modules["mkinitramfs"] = mk
_spec.loader.exec_module(mk)

CACHED_BUSYBOX = Path(os.environ.get("LAMINA_DEPS", "/opt/lamina-deps")) / "guest" / "busybox"


def header(ino, mode, nlink, mtime, filesize, rdevmajor, rdevminor, namesize):
    """A newc header: magic and 13 fields of 8 upper-case hex digits, in the
    order ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
    rdevminor namesize check."""
    fields = [ino, mode, 0, 0, nlink, mtime, filesize, 0, 0, rdevmajor, rdevminor, namesize, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


# The trailer as gen_init_cpio writes it: nlink 1, name "TRAILER!!!\0" (11
# bytes), 110 + 11 = 121 padded to 124.
TRAILER = header(0, 0, 1, 0, 0, 0, 0, 11) + b"TRAILER!!!\0" + b"\0" * 3


def parse(archive: bytes) -> list[tuple[str, int, bytes, tuple[int, int]]]:
    """A minimal reader: (name, mode, data, (rdevmajor, rdevminor)) per entry,
    checking the magic and 4-byte alignment of every header and data start."""
    out = []
    off = 0
    while True:
        assert off % 4 == 0, f"header at unaligned offset {off}"
        assert archive[off:off + 6] == b"070701", f"bad magic at {off}"
        f = [int(archive[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = f[11], f[6]
        name = archive[off + 110: off + 110 + namesize]
        assert name.endswith(b"\0")
        data_off = off + 110 + namesize
        data_off += -data_off % 4
        data = archive[data_off: data_off + filesize]
        off = data_off + filesize
        off += -off % 4
        if name == b"TRAILER!!!\0":
            assert off == len(archive), "bytes after the trailer"
            return out
        out.append((name[:-1].decode(), f[1], data, (f[9], f[10])))


class NewcTest(unittest.TestCase):
    def test_one_file_archive_bytes(self):
        # "init" (5 bytes with NUL): 110 + 5 = 115, padded to 116; data "hi\n"
        # (3 bytes) padded to 4.
        archive = mk.newc_archive([mk.Entry("init", 0o100755, b"hi\n")], mtime=0)
        expected = (header(1, 0o100755, 1, 0, 3, 0, 0, 5) + b"init\0" + b"\0" + b"hi\n\0" + TRAILER)
        self.assertEqual(archive, expected)

    def test_device_node_has_rdev_and_no_data(self):
        # /dev/console is c 5 1 (Documentation/admin-guide/devices.txt); S_IFCHR = 0o020000.
        archive = mk.newc_archive([mk.Entry("dev/console", 0o020600, rdev=(5, 1))], mtime=7)
        # "dev/console\0" is 12 bytes: 110 + 12 = 122, padded to 124.
        expected = header(1, 0o020600, 1, 7, 0, 5, 1, 12) + b"dev/console\0" + b"\0\0" + TRAILER
        self.assertEqual(archive, expected)

    def test_directory_nlink_2_and_symlink_target_as_data(self):
        # "bin\0": 110 + 4 = 114 -> 116; "bin/sh\0": 110 + 7 = 117 -> 120; the
        # target "busybox" (7 bytes) -> 8.
        archive = mk.newc_archive([mk.Entry("bin", 0o040755), mk.Entry("bin/sh", 0o120777, b"busybox")])
        expected = (header(1, 0o040755, 2, 0, 0, 0, 0, 4) + b"bin\0" + b"\0\0"
                    + header(2, 0o120777, 1, 0, 7, 0, 0, 7) + b"bin/sh\0" + b"\0" * 3 + b"busybox\0"
                    + TRAILER)
        self.assertEqual(archive, expected)

    def test_rejects_duplicate_and_absolute_names(self):
        with self.assertRaises(ValueError):
            mk.newc_archive([mk.Entry("a", 0o100644), mk.Entry("a", 0o100644)])
        with self.assertRaises(ValueError):
            mk.newc_archive([mk.Entry("/init", 0o100755)])


class AppletTableTest(unittest.TestCase):
    def test_reads_the_sorted_name_table(self):
        binary = b"\x7fELF junk\0[\0[[\0ash\0cat\0zcat\0\0more junk"
        self.assertEqual(mk.busybox_applets(binary), ["[", "[[", "ash", "cat", "zcat"])

    def test_rejects_missing_or_unsorted_tables(self):
        with self.assertRaises(ValueError):
            mk.busybox_applets(b"no table here")
        with self.assertRaises(ValueError):
            mk.busybox_applets(b"[\0[[\0cat\0ash\0\0")


class RootfsTest(unittest.TestCase):
    def test_layout(self):
        entries = mk.rootfs_entries(b"BB", b"#!/bin/sh\n", ["[", "ash", "busybox", "sh"],
                                    extra=[("bin/tool", b"T")])
        by_name = {e.name: e for e in entries}
        self.assertEqual(by_name["dev/console"].mode, stat.S_IFCHR | 0o600)
        self.assertEqual(by_name["dev/console"].rdev, (5, 1))
        self.assertEqual(by_name["dev/null"].rdev, (1, 3))
        self.assertEqual(by_name["bin/sh"].data, b"busybox")
        self.assertTrue(stat.S_ISLNK(by_name["bin/sh"].mode))
        self.assertEqual(by_name["bin/busybox"].mode, stat.S_IFREG | 0o755)  # not a link to itself
        self.assertEqual(by_name["bin/tool"].data, b"T")
        self.assertEqual(by_name["init"].mode, stat.S_IFREG | 0o755)
        self.assertEqual(by_name["tmp"].mode, stat.S_IFDIR | 0o1777)
        self.assertEqual(by_name["sbin"].data, b"bin")
        names = [e.name for e in entries]
        for e in entries:  # parents come first
            parent = e.name.rpartition("/")[0]
            if parent:
                self.assertLess(names.index(parent), names.index(e.name), e.name)


@unittest.skipUnless(CACHED_BUSYBOX.is_file(), f"{CACHED_BUSYBOX} not fetched (guest-images/fetch.sh)")
class CommandLineTest(unittest.TestCase):
    def test_writes_a_gzip_archive_with_every_applet(self):
        with tempfile.TemporaryDirectory() as tmp:
            init = Path(tmp) / "init"
            init.write_text("#!/bin/sh\n")
            out = Path(tmp) / "initramfs.cpio.gz"
            subprocess.run([sys.executable, str(HERE / "mkinitramfs.py"), "--busybox", str(CACHED_BUSYBOX),
                            "--init", str(init), "--add", f"bin/x={init}", "-o", str(out)], check=True)
            raw = out.read_bytes()
            self.assertEqual(raw[:2], b"\x1f\x8b")
            self.assertEqual(raw[4:8], b"\0\0\0\0", "gzip MTIME must be 0 (reproducible)")
            entries = {name: (mode, data, rdev) for name, mode, data, rdev in parse(gzip.decompress(raw))}
        self.assertEqual(entries["dev/console"][0], stat.S_IFCHR | 0o600)
        self.assertEqual(entries["dev/console"][2], (5, 1))
        self.assertEqual(entries["init"][1], b"#!/bin/sh\n")
        self.assertEqual(entries["bin/busybox"][1], CACHED_BUSYBOX.read_bytes())
        for applet in ("sh", "mount", "taskset", "poweroff", "reboot", "hwclock"):
            self.assertEqual(entries[f"bin/{applet}"], (stat.S_IFLNK | 0o777, b"busybox", (0, 0)), applet)


if __name__ == "__main__":
    unittest.main()
