#!/usr/bin/env python3
"""Write lamina's Linux guest initramfs: a newc cpio archive, without root.

The archive holds a static busybox with a symlink per applet, the /init script,
the directories /init mounts on, and the device nodes /dev/console (c 5 1) and
/dev/null (c 1 3) as archive entries: the kernel opens /dev/console from the
initramfs before it runs /init (init/main.c, console_on_rootfs), so without
that entry /init has no stdin/stdout. Writing the nodes as cpio headers needs
no mknod and so no root.

Format: "newc" (Linux Documentation/driver-api/early-userspace/buffer-format.rst):
each entry is a 110-byte ASCII header (magic "070701" and 13 fields of 8 hex
digits), the NUL-terminated name padded so that header + name is a multiple of
4 bytes, then the data padded to a multiple of 4; the archive ends with the
entry "TRAILER!!!". Written with gzip (the Debian kernel has CONFIG_RD_GZIP;
lamina places the initrd as it is) when the output name ends in .gz.

Reproducible: fixed owner (0:0), mtimes from SOURCE_DATE_EPOCH (default 0),
inode numbers in entry order, gzip header mtime 0.

The applet list comes from the busybox binary itself: busybox keeps its applet
names as one sorted, NUL-separated string table beginning "[\\0[[\\0"
(applets/applet_tables.c), which runs on the build host without executing the
arm64 binary.

Standard library only.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import os
import re
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

NEWC_MAGIC = b"070701"
NEWC_HEADER_SIZE = 110
TRAILER = "TRAILER!!!"

# Applets /init needs; the build fails if the busybox lacks one.
REQUIRED_APPLETS = (
    "sh", "mount", "cat", "grep", "awk", "sed", "sleep", "taskset", "seq", "tr", "cut",
    "od", "head", "wc", "md5sum", "rm", "uname", "dmesg", "date", "hwclock",
    "setsid", "cttyhack", "poweroff", "reboot", "insmod", "dd", "readlink", "ls",
)

# Directories of the root file system, then symlinks to /bin, so that every
# usual PATH finds the applets.
ROOT_DIRS = (("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("proc", 0o555), ("root", 0o700),
             ("sys", 0o555), ("tmp", 0o1777), ("run", 0o755), ("mnt", 0o755), ("usr", 0o755))
ROOT_SYMLINKS = (("sbin", "bin"), ("usr/bin", "../bin"), ("usr/sbin", "../bin"))
# (path, major, minor, permissions): Linux Documentation/admin-guide/devices.txt.
DEVICE_NODES = (("dev/console", 5, 1, 0o600), ("dev/null", 1, 3, 0o666))

_APPLET_NAME = re.compile(rb"^[][a-z0-9_.+-]+$")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One cpio entry; name has no leading '/'."""
    name: str
    mode: int           # file type and permission bits (st_mode)
    data: bytes = b""   # file contents, or the target of a symlink
    rdev: tuple[int, int] = (0, 0)  # (major, minor) of a device node


def busybox_applets(binary: bytes) -> list[str]:
    """The applet names of a busybox binary, from its applet name table.

    Raises ValueError if there is no such table or it is not a sorted list of
    plausible names (busybox bsearches it, so it is always sorted)."""
    start = binary.find(b"[\0[[\0")
    if start < 0:
        raise ValueError("no busybox applet name table (\"[\\0[[\\0\") in the binary")
    end = binary.find(b"\0\0", start)
    if end < 0:
        raise ValueError("the busybox applet name table has no end")
    raw = binary[start:end].split(b"\0")
    if any(not _APPLET_NAME.match(n) for n in raw):
        raise ValueError("the busybox applet name table holds an unexpected name")
    if raw != sorted(raw) or len(set(raw)) != len(raw):
        raise ValueError("the busybox applet name table is not sorted")
    return [n.decode() for n in raw]


def rootfs_entries(busybox: bytes, init: bytes, applets: Sequence[str],
                   extra: Sequence[tuple[str, bytes]] = ()) -> list[Entry]:
    """Every entry of the initramfs, parents before children; `extra` are
    further executables (name, contents), e.g. ("bin/lamina-cntvct", ...)."""
    entries = [Entry(d, stat.S_IFDIR | perm) for d, perm in ROOT_DIRS]
    entries += [Entry(p, stat.S_IFLNK | 0o777, t.encode()) for p, t in ROOT_SYMLINKS]
    entries += [Entry(p, stat.S_IFCHR | perm, rdev=(ma, mi)) for p, ma, mi, perm in DEVICE_NODES]
    entries.append(Entry("bin/busybox", stat.S_IFREG | 0o755, busybox))
    entries += [Entry(f"bin/{a}", stat.S_IFLNK | 0o777, b"busybox") for a in applets if a != "busybox"]
    known = {e.name for e in entries}
    for name, data in extra:
        # Parent directories first (e.g. lib/modules for kernel modules).
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            if parent not in known:
                entries.append(Entry(parent, stat.S_IFDIR | 0o755))
                known.add(parent)
        entries.append(Entry(name, stat.S_IFREG | 0o755, data))
    entries.append(Entry("init", stat.S_IFREG | 0o755, init))
    return entries


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def newc_entry(e: Entry, ino: int, mtime: int) -> bytes:
    """One newc header, name and data, each padded to 4 bytes."""
    name = e.name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(e.mode) else 1
    fields = (ino, e.mode, 0, 0, nlink, mtime, len(e.data), 0, 0, e.rdev[0], e.rdev[1], len(name), 0)
    for f in fields:
        if not 0 <= f <= 0xFFFFFFFF:
            raise ValueError(f"{e.name}: field value {f} does not fit a newc header")
    header = NEWC_MAGIC + b"".join(b"%08X" % f for f in fields)
    assert len(header) == NEWC_HEADER_SIZE
    return header + name + _pad4(NEWC_HEADER_SIZE + len(name)) + e.data + _pad4(len(e.data))


def newc_archive(entries: Iterable[Entry], mtime: int = 0) -> bytes:
    """The whole archive: the entries with inodes 1.., then the trailer."""
    out = []
    names: set[str] = set()
    ino = 0
    for ino, e in enumerate(entries, start=1):
        if e.name in names or e.name.startswith("/") or not e.name:
            raise ValueError(f"bad or duplicate entry name {e.name!r}")
        names.add(e.name)
        out.append(newc_entry(e, ino, mtime))
    out.append(newc_entry(Entry(TRAILER, 0), 0, 0))
    return b"".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--busybox", required=True, type=Path, help="static arm64 busybox binary")
    ap.add_argument("--init", required=True, type=Path, help="the /init script")
    ap.add_argument("-o", "--output", required=True, type=Path,
                    help="archive to write (gzip-compressed if the name ends in .gz)")
    ap.add_argument("--add", action="append", default=[], metavar="NAME=FILE",
                    help="also add FILE as the executable NAME (e.g. bin/tool=build/tool), repeatable")
    ap.add_argument("--list", action="store_true", help="print the entries written")
    args = ap.parse_args(argv)

    busybox = args.busybox.read_bytes()
    try:
        applets = busybox_applets(busybox)
    except ValueError as err:
        print(f"mkinitramfs: {args.busybox}: {err}", file=sys.stderr)
        return 1
    missing = [a for a in REQUIRED_APPLETS if a not in applets]
    if missing:
        print(f"mkinitramfs: {args.busybox} lacks applets /init needs: {' '.join(missing)}",
              file=sys.stderr)
        return 1

    extra = []
    for spec in args.add:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            ap.error(f"--add {spec!r}: expected NAME=FILE")
        extra.append((name.lstrip("/"), Path(path).read_bytes()))

    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    try:
        entries = rootfs_entries(busybox, args.init.read_bytes(), applets, extra)
        archive = newc_archive(entries, mtime)
    except ValueError as err:
        print(f"mkinitramfs: {err}", file=sys.stderr)
        return 1
    if args.output.name.endswith(".gz"):
        archive = gzip.compress(archive, compresslevel=9, mtime=0)
    tmp = args.output.with_name(args.output.name + ".tmp")
    tmp.write_bytes(archive)
    tmp.replace(args.output)
    if args.list:
        for e in entries:
            print(f"{stat.filemode(e.mode)} {e.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
