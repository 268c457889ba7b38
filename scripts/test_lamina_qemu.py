"""Self-test for scripts/lamina-qemu.

Run from the repository root:  python3 -m unittest scripts/test_lamina_qemu.py

The command-line tests need no QEMU. The tests in QemuRunTest boot tiny hand-assembled
payloads on qemu-system-aarch64 (skipped when it is not installed) to exercise the
test-mode harness itself: timeout, --until, --expect/--reject, --log, odd bytes.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import io
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

SCRIPT = Path(__file__).resolve().parent / "lamina-qemu"


def _load_script():
    loader = importlib.machinery.SourceFileLoader("lamina_qemu", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up here
    loader.exec_module(module)
    return module


lq = _load_script()


def argv_for(*args: str) -> list[str]:
    with contextlib.redirect_stderr(io.StringIO()):
        return lq.build_argv(lq.parse_args(list(args)))


def option_value(argv: list[str], option: str) -> str:
    return argv[argv.index(option) + 1]


def all_values(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == option]


class ArgvTest(unittest.TestCase):
    """build_argv() turns options into the QEMU command line, without touching QEMU."""

    def test_defaults(self):
        self.assertEqual(argv_for(), [
            "qemu-system-aarch64",
            "-machine", "virt,gic-version=3,virtualization=on,dtb-randomness=off",
            "-cpu", "max", "-smp", "4", "-m", "1G",
            "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", str(lq.REPO_ROOT / "build" / "lamina.bin"),
        ])

    def test_gic_versions(self):
        self.assertEqual(option_value(argv_for("--gic", "2"), "-machine"),
                         "virt,gic-version=2,virtualization=on,dtb-randomness=off")
        self.assertIn("gic-version=3", option_value(argv_for("--gic", "3"), "-machine"))

    def test_el1_omits_virtualization(self):
        self.assertEqual(option_value(argv_for("--el1"), "-machine"),
                         "virt,gic-version=3,dtb-randomness=off")

    def test_dtb_randomness_only_on_request(self):
        self.assertNotIn("dtb-randomness", option_value(argv_for("--dtb-randomness"), "-machine"))

    def test_machine_sizes_and_cpu(self):
        argv = argv_for("--cpus", "2", "--mem", "4G", "--cpu", "cortex-a57")
        self.assertEqual(option_value(argv, "-smp"), "2")
        self.assertEqual(option_value(argv, "-m"), "4G")
        self.assertEqual(option_value(argv, "-cpu"), "cortex-a57")

    def test_icount_brings_deterministic_rtc(self):
        argv = argv_for("--icount")
        self.assertEqual(option_value(argv, "-icount"), "shift=0,align=off,sleep=off")
        self.assertEqual(option_value(argv, "-rtc"), "base=2020-01-01T00:00:00,clock=vm")
        plain = argv_for()
        self.assertNotIn("-icount", plain)
        self.assertNotIn("-rtc", plain)

    def test_loads_and_sets_become_loader_devices(self):
        argv = argv_for("--load", "build/lamina.bin@0x40400000", "--load", "a,b@me.dtb@1048576",
                        "--set", "0x40000ff8=0x44000000", "--set", "16=0xffffffffffffffff")
        self.assertEqual(all_values(argv, "-device"), [
            "loader,file=build/lamina.bin,addr=0x40400000,force-raw=on",
            # ',' doubled for QEMU's option parser; the address follows the last '@'
            "loader,file=a,,b@me.dtb,addr=0x100000,force-raw=on",
            "loader,addr=0x40000ff8,data=0x44000000,data-len=8",
            "loader,addr=0x10,data=0xffffffffffffffff,data-len=8",
        ])

    def test_kernel_overrides_image(self):
        argv = argv_for("--image", "x.bin", "--kernel", "stub.bin")
        self.assertEqual(option_value(argv, "-kernel"), "stub.bin")
        self.assertEqual(option_value(argv_for("--image", "x.bin"), "-kernel"), "x.bin")

    def test_append_is_one_argument(self):
        self.assertEqual(option_value(argv_for("--append", "a b 'c'"), "-append"), "a b 'c'")
        self.assertNotIn("-append", argv_for())

    def test_gdb(self):
        argv = argv_for("--gdb")
        self.assertEqual(argv[-3:], ["-S", "-gdb", "tcp:127.0.0.1:1234"])
        self.assertEqual(argv_for("--gdb=4321")[-3:], ["-S", "-gdb", "tcp:127.0.0.1:4321"])
        self.assertEqual(argv_for("--gdb", "4321", "--icount")[-3:], ["-S", "-gdb", "tcp:127.0.0.1:4321"])
        self.assertNotIn("-S", argv_for())

    def test_interactive_multiplexes_monitor_and_allows_reboot(self):
        argv = argv_for("--interactive")
        self.assertEqual(option_value(argv, "-serial"), "mon:stdio")
        self.assertNotIn("-no-reboot", argv)

    def test_test_mode_console_is_a_pipe(self):
        argv = argv_for("--expect", "x")
        self.assertEqual(option_value(argv, "-serial"), "stdio")
        self.assertIn("-no-reboot", argv)

    def test_dumpdtb(self):
        self.assertEqual(option_value(argv_for("--dumpdtb", "out,1.dtb"), "-machine"),
                         "virt,gic-version=3,virtualization=on,dtb-randomness=off,dumpdtb=out,,1.dtb")

    def test_qemu_binary(self):
        self.assertEqual(argv_for("--qemu", "/opt/q/bin/qemu")[0], "/opt/q/bin/qemu")

    def test_dry_run_prints_the_same_argv_shell_quoted(self):
        args = ["--append", "x y", "--gic", "2", "--load", "my file@0x1000"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(lq.main([*args, "--dry-run"]), 0)
        self.assertEqual(shlex.split(out.getvalue()), argv_for(*args))


class ModeTest(unittest.TestCase):
    def mode(self, *args: str) -> str:
        with contextlib.redirect_stderr(io.StringIO()):
            return lq.parse_args(list(args)).mode

    def test_modes(self):
        self.assertEqual(self.mode(), "exec")
        self.assertEqual(self.mode("--interactive"), "interactive")
        self.assertEqual(self.mode("--dumpdtb", "x.dtb"), "dumpdtb")
        for option in (["--test"], ["--expect", "x"], ["--reject", "x"], ["--timeout", "5"],
                       ["--until", "x"], ["--expect-exit", "0"], ["--log", "f"], ["--name", "n"]):
            self.assertEqual(self.mode(*option), "test", option)

    def test_test_defaults_and_name(self):
        opts = lq.parse_args(["--test", "--kernel", "k/stub.bin", "--gic", "2", "--el1"])
        self.assertEqual((opts.timeout, opts.expect_exit), (60.0, 0))
        self.assertEqual(opts.name, "stub.bin [virt gicv2 cpus=4 cpu=max el1]")
        self.assertEqual(lq.parse_args(["--name", "smoke"]).name, "smoke")

    def test_unknown_cpu_warns_but_passes(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            opts = lq.parse_args(["--cpu", "cortex-a710"])
        self.assertIn("warning: CPU model 'cortex-a710'", err.getvalue())
        self.assertEqual(option_value(lq.build_argv(opts), "-cpu"), "cortex-a710")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            lq.parse_args(["--cpu", "max,sve=off"])  # properties after the model are fine
        self.assertEqual(err.getvalue(), "")


class _UsageAssertions:
    def assertUsageError(self, args: list[str], message: str) -> None:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as cm:
            lq.parse_args(args)
        self.assertEqual(cm.exception.code, 2, err.getvalue())
        self.assertIn(message, err.getvalue())
        # One line of error after argparse's usage lines.
        self.assertEqual(len([line for line in err.getvalue().splitlines() if "error:" in line]), 1)

    def run_main(self, args: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            return lq.main(args), err.getvalue()


class UsageErrorTest(_UsageAssertions, unittest.TestCase):
    """Mistakes exit with status 2 and a message naming the problem, never a traceback."""

    def test_bad_load(self):
        self.assertUsageError(["--load", "lamina.bin"], "expected FILE@ADDR, got 'lamina.bin'")
        self.assertUsageError(["--load", "@0x1000"], "expected FILE@ADDR")
        self.assertUsageError(["--load", "lamina.bin@"], "expected FILE@ADDR")
        self.assertUsageError(["--load", "lamina.bin@0xfoo"], "address '0xfoo' is not a number")
        self.assertUsageError(["--load", "lamina.bin@-1"], "does not fit in 64 bits")

    def test_bad_set(self):
        self.assertUsageError(["--set", "0x1000"], "expected ADDR=VALUE")
        self.assertUsageError(["--set", "0x1000=abc"], "value 'abc' is not a number")
        self.assertUsageError(["--set", "0x1000=0x10000000000000000"], "does not fit in 64 bits")

    def test_raspi4b_command_line(self):
        argv = argv_for("--machine", "raspi4b", "--dtb", "pi.dtb")
        self.assertEqual(option_value(argv, "-machine"), "raspi4b")
        self.assertEqual(option_value(argv, "-dtb"), "pi.dtb")
        # The board fixes CPU, count and memory: none may be passed.
        for fixed in ("-cpu", "-smp", "-m"):
            self.assertNotIn(fixed, argv)

    def test_bios(self):
        argv = argv_for("--bios", "u-boot.bin")
        self.assertEqual(option_value(argv, "-bios"), "u-boot.bin")
        self.assertLess(argv.index("-bios"), argv.index("-kernel"))

    def test_bad_gic(self):
        self.assertUsageError(["--gic", "4"], "invalid choice: 4")
        self.assertUsageError(["--gic", "v3"], "--gic")
        self.assertUsageError(["--gic", "2", "--cpus", "9"], "GICv2 supports at most 8 CPUs")

    def test_bad_machine_values(self):
        self.assertUsageError(["--machine", "pc"], "invalid choice: 'pc'")
        self.assertUsageError(["--machine", "raspi4b"], "raspi4b needs --dtb")
        self.assertUsageError(["--machine", "raspi4b", "--dtb", "x.dtb", "--gic", "3"], "GICv2")
        self.assertUsageError(["--machine", "raspi4b", "--dtb", "x.dtb", "--cpus", "2"], "exactly 4 CPUs")
        self.assertUsageError(["--machine", "raspi4b", "--dtb", "x.dtb", "--el1"], "not available on raspi4b")
        self.assertUsageError(["--cpus", "0"], "positive integer")
        self.assertUsageError(["--mem", "lots"], "invalid size 'lots'")
        self.assertUsageError(["--gdb", "build/lamina.bin"], "invalid port")
        self.assertUsageError(["--timeout", "0"], "positive number of seconds")
        self.assertUsageError(["--expect", "("], "bad regular expression '('")

    def test_conflicting_modes(self):
        self.assertUsageError(["--interactive", "--timeout", "5"], "--interactive cannot be combined")
        self.assertUsageError(["--dumpdtb", "x.dtb", "--gdb"], "cannot be combined with --gdb")

    def test_no_abbreviations(self):
        self.assertUsageError(["--exp", "x"], "unrecognized arguments")

    def test_missing_qemu(self):
        with tempfile.TemporaryDirectory() as empty, mock.patch.dict(os.environ, {"PATH": empty}):
            status, err = self.run_main(["--test"])
        self.assertEqual(status, 2)
        self.assertIn("qemu-system-aarch64 not found; run scripts/setup.sh", err)
        status, err = self.run_main(["--qemu", "/nonexistent/qemu", "--test"])
        self.assertEqual((status, "'/nonexistent/qemu' not found" in err), (2, True))

    def test_missing_files(self):
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.object(lq, "resolve_qemu", side_effect=lambda q: q):
            status, err = self.run_main(["--image", f"{d}/none.bin", "--test"])
            self.assertEqual(status, 2)
            self.assertIn("none.bin' not found", err)
            kernel = Path(d, "k.bin")
            kernel.write_bytes(b"\0" * 4)
            status, err = self.run_main(["--kernel", str(kernel), "--load", f"{d}/x@0x0", "--test"])
            self.assertEqual(status, 2)
            self.assertIn("--load file", err)

    def test_command_line_has_help_and_no_tracebacks(self):
        run = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0)
        self.assertIn("examples:", run.stdout)
        run = subprocess.run([sys.executable, str(SCRIPT), "--load", "x"],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 2)
        self.assertIn("lamina-qemu: error: argument --load", run.stderr)
        self.assertNotIn("Traceback", run.stderr)


# --------------------------------------------------------------------------- VMs

MIB = 1 << 20
GIB = 1 << 30


class _Files:
    """Payload files of given sizes in a temporary directory."""

    def __init__(self, test: unittest.TestCase) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lamina-qemu-vm-test-"))
        test.addCleanup(shutil.rmtree, self.dir, True)

    def make(self, name: str, size: int = 16, data: bytes | None = None) -> str:
        path = self.dir / name
        path.write_bytes(data if data is not None else b"\xa5" * size)
        return str(path)


def parse(*args: str):
    with contextlib.redirect_stderr(io.StringIO()):
        return lq.parse_args(list(args))


class VmOptionTest(unittest.TestCase):
    """--vm and the guest sizes are parsed exactly as documented."""

    def test_vm_keys(self):
        vm = lq.parse_vm("name=b,kernel=b.bin,initrd=i.cpio,dtb=g.dtb,vcpus=3,mem=512M,ipa-bits=40,"
                         "map-eagerly,test-device=0xb000000,append=console=ttyAMA0,115200 root=/dev/x")
        self.assertEqual((vm.name, vm.kernel, vm.initrd, vm.dtb, vm.vcpus, vm.mem, vm.ipa_bits,
                          vm.map_eagerly, vm.test_device, vm.append),
                         ("b", "b.bin", "i.cpio", "g.dtb", 3, 512 * MIB, 40, True, 0xB000000,
                          "console=ttyAMA0,115200 root=/dev/x"))

    def test_vm_defaults(self):
        vm = lq.parse_vm("kernel=k")
        self.assertEqual((vm.name, vm.initrd, vm.dtb, vm.append, vm.vcpus, vm.mem, vm.ipa_bits,
                          vm.map_eagerly, vm.test_device), (None, None, None, None, 1, 256 * MIB, None,
                                                            False, None))

    def test_append_takes_the_rest_of_the_string(self):
        vm = lq.parse_vm("kernel=k,append=a,kernel=x,b=c")
        self.assertEqual((vm.kernel, vm.append), ("k", "a,kernel=x,b=c"))
        self.assertEqual(lq.parse_vm("kernel=k,append=").append, "")
        with self.assertRaisesRegex(lq.argparse.ArgumentTypeError, "kernel=FILE is required"):
            lq.parse_vm("append=x,kernel=k")  # kernel=k is part of the bootargs

    def test_vm_errors(self):
        for text, message in (("kernel=k,colour=red", "unknown --vm key 'colour'"),
                              ("kernel=k,map-eagerly=yes", "map-eagerly is a flag"),
                              ("name=x", "kernel=FILE is required"),
                              ("kernel=k,vcpus", "'vcpus' needs a value"),
                              ("kernel=k,kernel=j", "'kernel' given twice"),
                              ("kernel=k,vcpus=0", "positive integer"),
                              ("kernel=k,mem=6K", "multiple of 4 KiB"),
                              ("kernel=k,mem=lots", "invalid size 'lots'"),
                              ("kernel=k,test-device=0xb000004", "not 4 KiB aligned")):
            with self.assertRaises(lq.argparse.ArgumentTypeError, msg=text) as cm:
                lq.parse_vm(text)
            self.assertIn(message, str(cm.exception), text)

    def test_sizes(self):
        # QEMU's -m syntax: no suffix is MiB.
        for text, value in (("256M", 256 * MIB), ("3G", 3 * GIB), ("262144K", 256 * MIB), ("64", 64 * MIB),
                            ("1.5G", 1536 * MIB), ("1.5", 1536 * 1024), ("4096B", 4096), ("1t", 1 << 40)):
            self.assertEqual(lq.size_bytes(text), value, text)
        for text in ("", "M", "1.0000001K", "0.5B", "-1G", "1Q"):
            with self.assertRaises(ValueError, msg=text):
                lq.size_bytes(text)
        self.assertEqual([lq.format_size(v) for v in (GIB, 1280 * MIB, 256 * MIB + 4096, 100)],
                         ["1G", "1280M", "262148K", "100B"])


class HostSizingTest(unittest.TestCase):
    """With VMs, host RAM = max(1G, guest RAM + 512M) in 256M steps (more if the payloads do not
    fit) and CPUs = max(4, total vCPUs); explicit --mem/--cpus are checked instead."""

    def vms(self, *specs: tuple[int, int]) -> list:
        return [lq.Vm(name=f"vm{i}", kernel="k", vcpus=v, mem=m) for i, (v, m) in enumerate(specs, 1)]

    def size(self, vms, module_size: int = 16, mem=None, cpus=None, gic: int = 3):
        modules = lq.layout_modules(vms, lambda vm, attr: module_size)
        return lq.size_host(vms, modules, mem, cpus, gic)

    def test_chosen_sizes(self):
        self.assertEqual(self.size(self.vms((1, 256 * MIB))), (GIB, 4))
        self.assertEqual(self.size(self.vms((2, GIB))), (1536 * MIB, 4))             # 1G + 512M
        self.assertEqual(self.size(self.vms((3, 700 * MIB), (3, 300 * MIB))), (1536 * MIB, 6))  # 1512M up
        self.assertEqual(self.size(self.vms((1, 4 * GIB))), (4608 * MIB, 4))
        # A 900 MiB kernel: 1G would not hold it after 0x48200000 (130 MiB in), nor guest RAM +
        # payload + lamina (256 + 900 + 64 = 1220 MiB): 1280M.
        self.assertEqual(self.size(self.vms((1, 256 * MIB)), module_size=900 * MIB), (1280 * MIB, 4))

    def test_explicit_values_win_or_fail(self):
        self.assertEqual(self.size(self.vms((2, 256 * MIB)), mem=2 * GIB, cpus=2), (2 * GIB, 2))
        with self.assertRaisesRegex(lq.UsageError, r"--cpus 3 cannot run the VMs: they have 4 vCPUs"):
            self.size(self.vms((2, 256 * MIB), (2, 256 * MIB)), cpus=3)
        # Two 16-byte kernels take two 2 MiB slots.
        with self.assertRaisesRegex(lq.UsageError, r"--mem 512M cannot hold the VMs: the VMs need 512 MiB of "
                                    r"guest RAM \+ 4 MiB of payloads \+ 64 MiB for lamina = 580 MiB"):
            self.size(self.vms((1, 256 * MIB), (1, 256 * MIB)), mem=512 * MIB)
        with self.assertRaisesRegex(lq.UsageError, r"kernel of VM vm1 \(k, 201326592 bytes at 0x48200000\) "
                                    r"does not fit below the end of RAM at 0x50000000"):
            self.size(self.vms((1, 4 * MIB)), module_size=192 * MIB, mem=256 * MIB)

    def test_gicv2_cpu_limit(self):
        with self.assertRaisesRegex(lq.UsageError,
                                    "9 vCPUs in total, but virt with GICv2 supports at most 8"):
            self.size(self.vms((5, 64 * MIB), (4, 64 * MIB)), gic=2)
        self.assertEqual(self.size(self.vms((5, 64 * MIB), (4, 64 * MIB)), gic=3)[1], 9)

    def test_modules_are_2mib_aligned_in_vm_order(self):
        vms = [lq.Vm(name="a", kernel="ka", initrd="ia", dtb="da"), lq.Vm(name="b", kernel="kb")]
        sizes = {"ka": 2 * MIB, "ia": 2 * MIB + 1, "da": 100, "kb": 1}
        modules = lq.layout_modules(vms, lambda vm, attr: sizes[getattr(vm, attr)])
        self.assertEqual([(m.vm, m.kind, m.path, hex(m.addr), m.size) for m in modules], [
            ("a", "kernel", "ka", "0x48200000", 2 * MIB),
            ("a", "ramdisk", "ia", "0x48400000", 2 * MIB + 1),
            ("a", "device-tree", "da", "0x48800000", 100),
            ("b", "kernel", "kb", "0x48a00000", 1),
        ])


class VmArgvTest(unittest.TestCase):
    """The QEMU command line with VMs (--dry-run: no QEMU, no dtc)."""

    def setUp(self):
        self.files = _Files(self)
        self.kernel = self.files.make("guest.bin", 3 * MIB)
        self.initrd = self.files.make("initrd,1.cpio", 100)
        self.dtb = self.files.make("guest.dtb", 50)

    def test_one_vm_with_every_payload(self):
        argv = argv_for("--guest-kernel", self.kernel, "--guest-initrd", self.initrd, "--guest-dtb", self.dtb,
                        "--append", "lamina.loglevel=debug")
        self.assertEqual(argv, [
            "qemu-system-aarch64",
            "-machine", "virt,gic-version=3,virtualization=on,dtb-randomness=off",
            "-cpu", "max", "-smp", "4", "-m", "1G",
            "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", str(lq.REPO_ROOT / "build" / "lamina.bin"),
            "-dtb", "<temp dir>/host.dtb",
            "-append", "lamina.loglevel=debug",
            # 3 MiB kernel: the ramdisk goes 4 MiB up, in the next free 2 MiB slot.
            "-device", f"loader,file={self.kernel},addr=0x48200000,force-raw=on",
            "-device", f"loader,file={self.initrd.replace(',', ',,')},addr=0x48600000,force-raw=on",
            "-device", f"loader,file={self.dtb},addr=0x48800000,force-raw=on",
        ])

    def test_guest_options_do_not_reach_qemu(self):
        argv = argv_for("--guest-kernel", self.kernel, "--guest-append", "console=ttyAMA0", "--vcpus", "2",
                        "--guest-mem", "64M", "--guest-ipa-bits", "40", "--guest-map-eagerly",
                        "--guest-test-device", "0xb000000", "--vm-name", "one")
        self.assertNotIn("-append", argv)  # guest bootargs live in the DT
        self.assertEqual(all_values(argv, "-device"),
                         [f"loader,file={self.kernel},addr=0x48200000,force-raw=on"])
        self.assertEqual((option_value(argv, "-smp"), option_value(argv, "-m")), ("4", "1G"))

    def test_vms_size_the_host(self):
        argv = argv_for("--guest-kernel", self.kernel, "--vcpus", "3", "--guest-mem", "1G",
                        "--vm", f"kernel={self.kernel},vcpus=3,mem=700M")
        self.assertEqual((option_value(argv, "-smp"), option_value(argv, "-m")), ("6", "2304M"))  # 1724M up
        self.assertEqual(all_values(argv, "-device"), [
            f"loader,file={self.kernel},addr=0x48200000,force-raw=on",
            f"loader,file={self.kernel},addr=0x48600000,force-raw=on"])
        argv = argv_for("--guest-kernel", self.kernel, "--cpus", "2", "--mem", "3G")
        self.assertEqual((option_value(argv, "-smp"), option_value(argv, "-m")), ("2", "3G"))

    def test_without_vms_nothing_changes(self):
        # `make run` (scripts/lamina-qemu --interactive) must keep its command line.
        argv = argv_for("--interactive")
        self.assertNotIn("-dtb", argv)
        self.assertNotIn("-device", argv)
        self.assertEqual(option_value(argv, "-m"), "1G")

    def test_host_dtb_goes_next_to_the_log(self):
        log = str(self.files.dir / "smoke.log")
        argv = argv_for("--guest-kernel", self.kernel, "--log", log)
        self.assertEqual(option_value(argv, "-dtb"), str(self.files.dir / "smoke.dtb"))
        self.assertEqual(option_value(argv_for("--guest-kernel", self.kernel, "--dtb", self.dtb), "-dtb"),
                         "<temp dir>/host.dtb")  # --dtb is the base, not what QEMU gets

    def test_vm_names_and_test_name(self):
        opts = parse("--guest-kernel", self.kernel, "--vm", f"kernel={self.kernel}",
                     "--vm", f"name=vm2x,kernel={self.kernel}", "--test")
        self.assertEqual([vm.name for vm in opts.vms], ["vm1", "vm2", "vm2x"])
        self.assertEqual(opts.name, "lamina.bin [virt gicv3 cpus=4 cpu=max vm1=guest.bin vm2=guest.bin "
                                    "vm2x=guest.bin]")
        # vmN unless taken, then the next free one.
        opts = parse("--guest-kernel", self.kernel, "--vm-name", "vm2", "--vm", f"kernel={self.kernel}")
        self.assertEqual([vm.name for vm in opts.vms], ["vm2", "vm3"])
        # --vm alone: the first VM is vm1.
        self.assertEqual([vm.name for vm in parse("--vm", f"kernel={self.kernel}").vms], ["vm1"])

    def test_dry_run_says_the_dtb_is_made_at_run_time(self):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            self.assertEqual(lq.main(["--guest-kernel", self.kernel, "--dry-run"]), 0)
        self.assertIn("'<temp dir>/host.dtb'", out.getvalue())
        self.assertIn("generated only when QEMU runs", err.getvalue())


class VmUsageErrorTest(_UsageAssertions, unittest.TestCase):
    """One clear line for each mistake with VMs."""

    def setUp(self):
        self.files = _Files(self)
        self.kernel = self.files.make("k.bin")

    def test_missing_and_empty_files(self):
        self.assertUsageError(["--guest-kernel", "/nonexistent/k.bin"],
                              "--guest-kernel file '/nonexistent/k.bin' not found")
        self.assertUsageError(["--guest-kernel", self.kernel, "--guest-initrd", "/nonexistent/i"],
                              "--guest-initrd file '/nonexistent/i' not found")
        self.assertUsageError(["--guest-kernel", self.kernel, "--vm", "name=b,kernel=/nonexistent/b"],
                              "--vm #1 (b): kernel file '/nonexistent/b' not found")
        empty = self.files.make("empty", data=b"")
        self.assertUsageError(["--guest-kernel", empty], f"--guest-kernel file '{empty}' is empty")

    def test_bad_sizes(self):
        k = ["--guest-kernel", self.kernel]
        self.assertUsageError([*k, "--guest-mem", "6K"], "must be a non-zero multiple of 4 KiB")
        self.assertUsageError([*k, "--guest-mem", "0"], "must be a non-zero multiple of 4 KiB")
        self.assertUsageError([*k, "--guest-mem", "big"], "invalid size 'big'")
        self.assertUsageError([*k, "--guest-test-device", "0x1001"], "not 4 KiB aligned")
        self.assertUsageError([*k, "--vcpus", "0"], "positive integer")

    def test_too_many_vcpus_and_too_little_memory(self):
        self.assertUsageError(["--guest-kernel", self.kernel, "--vcpus", "3", "--cpus", "2"],
                              "--cpus 2 cannot run the VMs: they have 3 vCPUs in total")
        self.assertUsageError(["--guest-kernel", self.kernel, "--gic", "2", "--vcpus", "9"],
                              "9 vCPUs in total, but virt with GICv2 supports at most 8 CPUs")
        self.assertUsageError(["--guest-kernel", self.kernel, "--mem", "256M"],
                              "--mem 256M cannot hold the VMs")
        big = self.files.make("big.img", 130 * MIB)
        self.assertUsageError(["--guest-kernel", self.kernel, "--guest-mem", "4K", "--guest-initrd", big,
                               "--mem", "256M"], "ramdisk of VM vm1")

    def test_bad_vm_descriptions(self):
        self.assertUsageError(["--vm", f"kernel={self.kernel},speed=fast"], "unknown --vm key 'speed'")
        self.assertUsageError(["--guest-kernel", self.kernel, "--vm", f"name=vm1,kernel={self.kernel}"],
                              "two VMs are named 'vm1'")
        for name in ("my vm", "vm@1", "1vm", "v" * 32):
            self.assertUsageError(["--guest-kernel", self.kernel, "--vm-name", name],
                                  "not a valid device-tree node name")
        self.assertUsageError(["--guest-append", "x"],
                              "--guest-append describes the first VM and needs --guest-kernel")
        self.assertUsageError(["--vcpus", "2"], "--vcpus describes the first VM and needs --guest-kernel")
        self.assertUsageError(["--machine", "raspi4b", "--dtb", "pi.dtb", "--guest-kernel", self.kernel],
                              "need --machine virt")

    def test_bare_errors(self):
        self.assertUsageError(["--bare"], "--bare runs exactly one guest")
        self.assertUsageError(["--bare", "--guest-kernel", self.kernel, "--vm", f"kernel={self.kernel}"],
                              "--bare runs exactly one guest")
        for extra, name in ((["--cpus", "2"], "--cpus"), (["--mem", "1G"], "--mem"),
                            (["--kernel", "x"], "--kernel"), (["--append", "x"], "--append"),
                            (["--dtb", "x"], "--dtb"), (["--el1"], "--el1")):
            self.assertUsageError(["--bare", "--guest-kernel", self.kernel, *extra],
                                  f"--bare makes the guest the whole machine: {name} does not apply")
        self.assertUsageError(["--bare", "--guest-kernel", self.kernel, "--gic", "2", "--vcpus", "9"],
                              "--vcpus 9: virt with GICv2 supports at most 8 CPUs")

    def test_lamina_image_must_end_below_qemus_dtb(self):
        # An Image header (booting.rst): text_offset 0, image_size 127 MiB: from 0x40200000 to
        # 0x48100000, past QEMU's DTB at 0x48000000.
        header = bytearray(64)
        struct.pack_into("<QQ", header, 8, 0, 127 * MIB)
        header[56:60] = b"ARM\x64"
        image = self.files.make("lamina.bin", data=bytes(header))
        with mock.patch.object(lq, "resolve_qemu", side_effect=lambda q: q):
            status, err = self.run_main(["--image", image, "--guest-kernel", self.kernel, "--test"])
        self.assertEqual(status, 2)
        self.assertIn("ends at 0x48100000, past the DTB QEMU puts at 0x48000000", err)
        struct.pack_into("<QQ", header, 8, 0, 126 * MIB)  # ends exactly at the DTB: fine
        self.assertIsNone(lq.check_image_room(self.files.make("ok.bin", data=bytes(header)), GIB))
        self.assertIsNone(lq.image_end(self.kernel))  # not an Image: nothing to check


class BareTest(unittest.TestCase):
    """--bare runs the guest on QEMU itself, at EL1, with the guest's sizes."""

    def test_command_line(self):
        self.assertEqual(argv_for("--bare", "--guest-kernel", "g.bin", "--guest-initrd", "i.cpio",
                                  "--guest-dtb", "g.dtb", "--guest-append", "console=ttyAMA0 x",
                                  "--vcpus", "2", "--guest-mem", "512M", "--gic", "2", "--cpu", "cortex-a57",
                                  "--icount"), [
            "qemu-system-aarch64",
            "-machine", "virt,gic-version=2,dtb-randomness=off",
            "-cpu", "cortex-a57", "-smp", "2", "-m", "512M",
            "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", "g.bin", "-initrd", "i.cpio", "-dtb", "g.dtb", "-append", "console=ttyAMA0 x",
            "-icount", "shift=0,align=off,sleep=off", "-rtc", "base=2020-01-01T00:00:00,clock=vm",
        ])

    def test_defaults_and_name(self):
        argv = argv_for("--bare", "--guest-kernel", "g.bin")
        self.assertEqual((option_value(argv, "-smp"), option_value(argv, "-m")), ("1", "256M"))
        self.assertEqual(parse("--bare", "--guest-kernel", "k/g.bin", "--test").name,
                         "g.bin [virt gicv3 bare vcpus=1 cpu=max]")

    def test_lamina_only_options_warn(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            opts = lq.parse_args(["--bare", "--guest-kernel", "g.bin", "--guest-test-device", "0xb000000"])
        self.assertIn("--guest-test-device only mean something under lamina; ignored with --bare",
                      err.getvalue())
        self.assertNotIn("0xb000000", " ".join(lq.build_argv(opts)))


@unittest.skipUnless(shutil.which("dtc") and shutil.which("fdtget"), "dtc/fdtget not installed")
class ChosenDtsTest(unittest.TestCase):
    """The /chosen VM nodes compile with dtc and read back as the binding says."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="lamina-qemu-dts-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def compile(self, vms, modules) -> Path:
        source = self.tmp / "t.dts"
        source.write_text("/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; chosen { }; };\n"
                          + lq.vm_chosen_dts(vms, modules))
        out = self.tmp / "t.dtb"
        subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(out), str(source)], check=True)
        return out

    def get(self, dtb: Path, *args: str) -> str:
        return subprocess.run(["fdtget", str(dtb), *args], check=True, capture_output=True,
                              text=True).stdout.rstrip("\n")

    def test_every_property(self):
        vms = [lq.Vm(name="vm1", kernel="k", initrd="i", dtb="d", append='console=ttyAMA0 "q" \\ é', vcpus=2,
                     mem=3 * GIB + 4096, ipa_bits=40, map_eagerly=True, test_device=0x1_0B00_0000),
               lq.Vm(name="other", kernel="k2")]
        modules = lq.layout_modules(vms, lambda vm, attr: {"kernel": 0x1234, "initrd": 5 * MIB,
                                                          "dtb": 0x800}[attr] if vm.name == "vm1" else 7)
        dtb = self.compile(vms, modules)
        self.assertEqual(self.get(dtb, "-l", "/chosen"), "vm1\nother")
        vm1 = "/chosen/vm1"
        self.assertEqual(self.get(dtb, "-p", vm1).split(), [
            "compatible", "#address-cells", "#size-cells", "memory", "cpus", "bootargs", "lamina,ipa-bits",
            "lamina,map-eagerly", "lamina,test-device"])
        self.assertEqual(self.get(dtb, "-t", "s", vm1, "compatible"), "lamina,vm")
        self.assertEqual(self.get(dtb, "-t", "u", vm1, "#address-cells"), "2")
        self.assertEqual(self.get(dtb, "-t", "u", vm1, "#size-cells"), "2")
        # 3 GiB + 4 KiB in KiB = 3145732 = 0x300004, as two cells.
        self.assertEqual(self.get(dtb, "-t", "x", vm1, "memory"), "0 300004")
        self.assertEqual(self.get(dtb, "-t", "u", vm1, "cpus"), "2")
        self.assertEqual(self.get(dtb, "-t", "u", vm1, "lamina,ipa-bits"), "40")
        self.assertEqual(self.get(dtb, "-t", "x", vm1, "lamina,test-device"), "1 b000000")
        self.assertEqual(self.get(dtb, "-t", "bx", vm1, "lamina,map-eagerly"), "")
        raw = bytes(int(b, 16) for b in self.get(dtb, "-t", "bx", vm1, "bootargs").split())
        self.assertEqual(raw, 'console=ttyAMA0 "q" \\ é'.encode() + b"\0")
        self.assertEqual(self.get(dtb, "-l", vm1).split(),
                         ["module@48200000", "module@48400000", "module@48a00000"])
        for node, kind, reg in (("module@48200000", "kernel", "0 48200000 0 1234"),
                                ("module@48400000", "ramdisk", "0 48400000 0 500000"),
                                ("module@48a00000", "device-tree", "0 48a00000 0 800")):
            path = f"{vm1}/{node}"
            self.assertEqual(self.get(dtb, "-p", path).split(), ["compatible", "reg"])
            self.assertEqual(self.get(dtb, "-t", "s", path, "compatible"),
                             f"multiboot,{kind} multiboot,module")
            self.assertEqual(self.get(dtb, "-t", "x", path, "reg"), reg)
        other = "/chosen/other"
        self.assertEqual(self.get(dtb, "-p", other).split(),
                         ["compatible", "#address-cells", "#size-cells", "memory", "cpus"])
        self.assertEqual(self.get(dtb, "-t", "x", other, "memory"), "0 40000")  # 256 MiB
        self.assertEqual(self.get(dtb, "-t", "u", other, "cpus"), "1")
        self.assertEqual(self.get(dtb, "-t", "x", f"{other}/module@48c00000", "reg"), "0 48c00000 0 7")


class PassthroughTest(unittest.TestCase):
    """--guest-passthrough: the values, the default, and the paths `all` finds in a DTS."""

    DTS = """/ {
\tpl031@9010000 {
\t\tcompatible = "arm,pl031\\0arm,primecell";
\t};
\tpl011@9000000 {
\t\tcompatible = "arm,pl011\\0arm,primecell";
\t};
\tintc@8000000 {
\t\tcompatible = "arm,gic-v3";
\t\tits@8080000 {
\t\t\tcompatible = "virtio,mmio";
\t\t};
\t};
\tvirtio_mmio@a000000 {
\t\tinterrupts = <0x00 0x10 0x01>;
\t\tcompatible = "virtio,mmio";
\t};
\tgpio: pl061@9030000 {
\t\tcompatible = "arm,pl061\\0arm,primecell";
\t};
\tpcie@10000000 {
\t\tcompatible = "pci-host-ecam-generic";
\t};
\tfw-cfg@9020000 {
\t\tcompatible = "qemu,fw-cfg-mmio";
\t};
};
"""

    def test_candidates_are_the_root_devices_lamina_can_pass_through(self):
        # Not the console UART, nothing inside the GIC; labels stripped.
        self.assertEqual(lq.passthrough_candidates(self.DTS),
                         ["/pl031@9010000", "/virtio_mmio@a000000", "/pl061@9030000", "/pcie@10000000",
                          "/fw-cfg@9020000"])

    def test_qemu_args_are_appended_split(self):
        argv = argv_for("--qemu-args", "-drive if=none,file='a b.img',format=raw,id=d",
                        "--qemu-args", "-device virtio-blk-device,drive=d")
        self.assertEqual(argv[-4:], ["-drive", "if=none,file=a b.img,format=raw,id=d", "-device",
                                     "virtio-blk-device,drive=d"])

    def test_vm_key(self):
        self.assertEqual(lq.parse_vm("kernel=k,passthrough=/a@1+/b@2").passthrough, ["/a@1", "/b@2"])
        self.assertEqual(lq.parse_vm("kernel=k,passthrough=none").passthrough, "none")
        with self.assertRaises(lq.argparse.ArgumentTypeError):
            lq.parse_vm("kernel=k,passthrough=a@1")

    def test_values(self):
        self.assertEqual(lq.parse_passthrough("all"), "all")
        self.assertEqual(lq.parse_passthrough("none"), "none")
        self.assertEqual(lq.parse_passthrough("/pl031@9010000,/virtio_mmio@a000000"),
                         ["/pl031@9010000", "/virtio_mmio@a000000"])
        for bad in ("pl031@9010000", "/a,b", '/a"b', "", "/a b"):
            with self.assertRaises(lq.argparse.ArgumentTypeError, msg=bad):
                lq.parse_passthrough(bad)

    def test_default_is_all_for_a_first_vm_with_an_initrd(self):
        linux = lq.Vm(name="vm1", kernel="Image", initrd="initrd")
        bare = lq.Vm(name="vm1", kernel="guest.elf")
        second = lq.Vm(name="vm2", kernel="Image", initrd="initrd")
        got = lq.resolve_passthrough([linux, second], self.DTS)
        self.assertEqual(got["vm1"], lq.passthrough_candidates(self.DTS))
        self.assertEqual(got["vm2"], [])
        self.assertEqual(lq.resolve_passthrough([bare], self.DTS)["vm1"], [])
        linux.passthrough = "none"
        bare.passthrough = ["/pl031@9010000"]
        self.assertEqual(lq.resolve_passthrough([linux], self.DTS)["vm1"], [])
        self.assertEqual(lq.resolve_passthrough([bare], self.DTS)["vm1"], ["/pl031@9010000"])

    def test_option_reaches_the_first_vm_only_with_a_kernel(self):
        kernel = _Files(self).make("k.bin")
        opts = parse("--guest-kernel", kernel, "--guest-passthrough", "/pl031@9010000")
        self.assertEqual(opts.vms[0].passthrough, ["/pl031@9010000"])
        self.assertIsNone(parse("--guest-kernel", kernel).vms[0].passthrough)
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            lq.parse_args(["--guest-passthrough", "all"])

    @unittest.skipUnless(shutil.which("dtc") and shutil.which("fdtget"), "dtc/fdtget not installed")
    def test_chosen_dts_writes_the_property(self):
        tmp = Path(tempfile.mkdtemp(prefix="lamina-qemu-pt-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        vm = lq.Vm(name="vm1", kernel="k")
        source = tmp / "t.dts"
        source.write_text("/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; chosen { }; };\n"
                          + lq.vm_chosen_dts([vm], [], {"vm1": ["/pl031@9010000", "/pcie@10000000"]}))
        out = tmp / "t.dtb"
        subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(out), str(source)], check=True)
        got = subprocess.run(["fdtget", "-t", "s", str(out), "/chosen/vm1", "lamina,passthrough"], check=True,
                             capture_output=True, text=True).stdout.strip()
        self.assertEqual(got, "/pl031@9010000 /pcie@10000000")


@unittest.skipUnless(shutil.which("qemu-system-aarch64") and shutil.which("dtc"), "QEMU or dtc not installed")
class HostDtbTest(unittest.TestCase):
    """--dumpdtb with VMs writes QEMU's own DTB for the sized machine plus the VM nodes
    (QEMU only dumps; nothing boots)."""

    def setUp(self):
        self.files = _Files(self)

    def fdtget(self, dtb: str, *args: str) -> str:
        return subprocess.run(["fdtget", dtb, *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    def test_dump_with_vms(self):
        kernel = self.files.make("k.bin", 1000)
        out = str(self.files.dir / "host.dtb")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = lq.main(["--guest-kernel", kernel, "--vcpus", "2", "--guest-mem", "1G",
                              "--guest-append", "a,b",
                              "--vm", f"name=b,kernel={kernel},vcpus=3", "--gic", "2", "--dumpdtb", out])
        self.assertEqual(status, 0, err.getvalue())
        # The machine was sized for the VMs: 1G + 256M + 512M = 1792M, 5 CPUs.
        self.assertEqual(self.fdtget(out, "-t", "x", "/memory@40000000", "reg"), "0 40000000 0 70000000")
        self.assertEqual(self.fdtget(out, "-l", "/cpus").split()[-5:],
                         ["cpu@0", "cpu@1", "cpu@2", "cpu@3", "cpu@4"])
        self.assertEqual(self.fdtget(out, "-t", "s", "/intc@8000000", "compatible"), "arm,cortex-a15-gic")
        self.assertEqual(self.fdtget(out, "-t", "s", "/psci", "method"), "smc")  # EL2 entry
        # QEMU's own /chosen stays, the VMs join it.
        self.assertEqual(self.fdtget(out, "-t", "s", "/chosen", "stdout-path"), "/pl011@9000000")
        self.assertEqual(self.fdtget(out, "-l", "/chosen").split(), ["vm1", "b"])
        self.assertEqual(self.fdtget(out, "-t", "s", "/chosen/vm1", "bootargs"), "a,b")
        self.assertEqual(self.fdtget(out, "-t", "u", "/chosen/b", "cpus"), "3")
        self.assertEqual(self.fdtget(out, "-t", "x", "/chosen/vm1/module@48200000", "reg"),
                         "0 48200000 0 3e8")
        self.assertEqual(self.fdtget(out, "-t", "x", "/chosen/b/module@48400000", "reg"), "0 48400000 0 3e8")

    def test_dtb_option_is_the_base_and_names_must_be_new(self):
        kernel = self.files.make("k.bin")
        first = str(self.files.dir / "first.dtb")
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(lq.main(["--guest-kernel", kernel, "--dumpdtb", first]), 0)
            second = str(self.files.dir / "second.dtb")
            self.assertEqual(lq.main(["--dtb", first, "--vm", f"name=two,kernel={kernel}",
                                      "--dumpdtb", second]), 0)
        self.assertEqual(self.fdtget(second, "-l", "/chosen").split(), ["vm1", "two"])
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(lq.main(["--dtb", first, "--guest-kernel", kernel, "--dumpdtb", second]), 2)
        self.assertIn("already has a /chosen/vm1 node", err.getvalue())


class SendTextTest(unittest.TestCase):
    def test_escapes(self):
        self.assertEqual(lq.parse_send_text(r"ls -l\r"), b"ls -l\r")
        self.assertEqual(lq.parse_send_text(r"\x1c2\n\t\e\\"), b"\x1c2\n\t\x1b\\")
        self.assertEqual(lq.parse_send_text("é"), "é".encode())
        for bad in (r"\q", r"\x1", "end\\"):
            with self.assertRaises(lq.argparse.ArgumentTypeError):
                lq.parse_send_text(bad)

    def test_send_after_is_a_test_option(self):
        opts = lq.parse_args(["--send-after", "# $", r"echo\r"])
        self.assertEqual(opts.mode, "test")
        self.assertEqual(opts.send_after[0].data, b"echo\r")
        self.assertEqual(opts.send_after[0].pattern.pattern, "# $")


class CheckResultTest(unittest.TestCase):
    """check_result() decides PASS/FAIL from a run; tested here on made-up runs."""

    LOG = "lamina: boot\nvgic: ready\nguest: hello\n"

    def reasons(self, args: list[str], log: str = LOG, returncode: int = 0,
                timed_out: bool = False, until_matched: bool = False, stderr: str = "") -> list[str]:
        opts = lq.parse_args(["--test", *args])
        run = lq.RunResult(log, stderr, returncode, timed_out, until_matched, None)
        return lq.check_result(opts, run)

    def test_pass(self):
        self.assertEqual(self.reasons(["--expect", "^vgic", "--reject", "panic"]), [])

    def test_exit_status(self):
        self.assertEqual(self.reasons([], returncode=1, stderr="qemu: oops\n"),
                         ["QEMU exited with status 1, expected 0 (qemu: oops)"])
        self.assertEqual(self.reasons(["--expect-exit", "3"], returncode=3), [])
        self.assertEqual(self.reasons([], returncode=-9), ["QEMU was killed by SIGKILL, expected 0"])

    def test_until_skips_exit_status(self):
        self.assertEqual(self.reasons(["--until", "hello"], returncode=-9, until_matched=True), [])

    def test_timeout_is_reported_with_missing_expectations(self):
        self.assertEqual(self.reasons(["--timeout", "3", "--expect", "never", "--expect", "boot"],
                                      timed_out=True, returncode=-9),
                         ["timed out after 3 s", "expected /never/ not found"])

    def test_expect_in_order(self):
        self.assertEqual(self.reasons(["--expect", "boot", "--expect", "hello", "--expect-in-order"]), [])
        self.assertEqual(self.reasons(["--expect", "hello", "--expect", "boot", "--expect-in-order"]),
                         ["expected /boot/ not found after /hello/"])
        self.assertEqual(self.reasons(["--expect", "hello", "--expect", "boot"]), [])

    def test_reject_names_the_line(self):
        self.assertEqual(self.reasons(["--reject", "ready$"]),
                         ["rejected /ready$/ matched at line 2: 'vgic: ready'"])


# A tiny AArch64 payload, assembled by hand so the test needs no toolchain. QEMU
# loads a raw -kernel file into RAM and jumps to it at EL2.
_PL011 = 0x09000000


def _movz_x(rd: int, imm16: int, hw: int) -> int:
    return 0xD2800000 | hw << 21 | imm16 << 5 | rd


def _movz_w(rd: int, imm16: int) -> int:
    return 0x52800000 | imm16 << 5 | rd


def _movk_w(rd: int, imm16: int, hw: int) -> int:
    return 0x72800000 | hw << 21 | imm16 << 5 | rd


def _str_w(rt: int, rn: int, offset: int) -> int:
    return 0xB9000000 | (offset // 4) << 10 | rn << 5 | rt


def _ldr_w(rt: int, rn: int, offset: int) -> int:
    return 0xB9400000 | (offset // 4) << 10 | rn << 5 | rt


def _tbnz_w(rt: int, bit: int, words: int) -> int:
    return 0x37000000 | bit << 19 | (words & 0x3FFF) << 5 | rt


def _cmp_w_imm(rn: int, imm: int) -> int:
    return 0x71000000 | imm << 10 | rn << 5 | 31  # subs wzr, wRn, #imm


def _b_ne(words: int) -> int:
    return 0x54000000 | (words & 0x7FFFF) << 5 | 0x1


def _ldrb_post(rt: int, rn: int) -> int:
    return 0x38400400 | 1 << 12 | rn << 5 | rt  # ldrb wRt, [xRn], #1


SMC_0 = 0xD4000003
HVC_0 = 0xD4000002
B_SELF = 0x14000000  # b .
PSCI_SYSTEM_OFF = 0x84000008


def payload(message: bytes = b"", power_off: bool = False, echo_from: int | None = None, echo_len: int = 0,
            conduit: int = SMC_0) -> bytes:
    """Prints `message`, then `echo_len` bytes read from memory at `echo_from` (a 64 KiB-aligned
    address below 4 GiB), then optionally powers off through PSCI over `conduit`."""
    words = [_movz_x(0, _PL011 >> 16, 1),          # x0 = PL011
             _movz_w(1, 0x301), _str_w(1, 0, 0x30)]  # UARTCR = UARTEN | TXE | RXE
    for byte in message:
        words += [_movz_w(1, byte), _str_w(1, 0, 0)]  # UARTDR = byte
    if echo_from is not None:
        assert echo_from % 0x10000 == 0 and echo_from < 1 << 32
        words.append(_movz_x(2, echo_from >> 16, 1))  # x2 = echo_from
        words += [_ldrb_post(1, 2), _str_w(1, 0, 0)] * echo_len
    if power_off:  # QEMU implements PSCI: SMC when entered at EL2, HVC at EL1
        words += [_movz_w(0, PSCI_SYSTEM_OFF & 0xFFFF), _movk_w(0, PSCI_SYSTEM_OFF >> 16, 1), conduit]
    words.append(B_SELF)
    return struct.pack(f"<{len(words)}I", *words)


def echo_payload(prompt: bytes, last: int) -> bytes:
    """Prints `prompt`, then echoes every byte it receives on the PL011 until it has echoed
    `last`, then powers off (PSCI over SMC)."""
    words = payload(prompt)[:-4]  # without the final `b .`
    words_list = list(struct.unpack(f"<{len(words) // 4}I", words))
    loop = [_ldr_w(1, 0, 0x18),   # w1 = UARTFR
            _tbnz_w(1, 4, -1),    # RXFE: look again
            _ldr_w(1, 0, 0),      # w1 = UARTDR
            _str_w(1, 0, 0),      # echo it
            _cmp_w_imm(1, last),
            _b_ne(-5)]
    words_list += loop
    words_list += [_movz_w(0, PSCI_SYSTEM_OFF & 0xFFFF), _movk_w(0, PSCI_SYSTEM_OFF >> 16, 1), SMC_0, B_SELF]
    return struct.pack(f"<{len(words_list)}I", *words_list)


def tiny_elf(load_addr: int, trailer: bytes) -> bytes:
    """A valid AArch64 ELF executable with one PT_LOAD of the whole file at `load_addr`
    (so QEMU's generic loader would load it *there* unless force-raw), then `trailer`."""
    ehdr_size, phdr_size = 64, 56
    size = ehdr_size + phdr_size + len(trailer)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)  # 64-bit, little-endian, version 1
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, load_addr, ehdr_size, 0, 0, ehdr_size,
                               phdr_size, 1, 64, 0, 0)  # EXEC, EM_AARCH64
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, load_addr, load_addr, size, size, 0x1000)  # PT_LOAD R+X
    return ehdr + phdr + trailer


@unittest.skipUnless(shutil.which("qemu-system-aarch64"), "qemu-system-aarch64 not installed")
class QemuRunTest(unittest.TestCase):
    """Runs the harness for real against QEMU with hand-made payloads."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="lamina-qemu-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def harness(self, kernel: bytes, *args: str) -> tuple[subprocess.CompletedProcess, float]:
        path = self.tmp / "payload.bin"
        path.write_bytes(kernel)
        start = time.monotonic()
        run = subprocess.run([sys.executable, str(SCRIPT), "--kernel", str(path), "--cpus", "1",
                              *args], capture_output=True, text=True, timeout=30)
        return run, time.monotonic() - start

    def qemu_still_running(self) -> bool:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if str(self.tmp).encode() in cmdline.read_bytes():
                    return True
            except OSError:
                pass
        return False

    def test_timeout_kills_qemu_and_reports_failure(self):
        run, elapsed = self.harness(payload(), "--timeout", "3", "--name", "spin")
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        lines = run.stdout.splitlines()
        self.assertEqual(lines[0], "FAIL: spin: timed out after 3 s")
        self.assertTrue(lines[1].startswith("command: ") and "qemu-system-aarch64" in lines[1])
        self.assertEqual(lines[2:], ["----- serial log -----", "----- end of serial log -----"])
        self.assertLess(elapsed, 8)
        self.assertFalse(self.qemu_still_running())

    def test_power_off_passes_and_log_keeps_raw_bytes(self):
        log = self.tmp / "serial.log"
        run, _ = self.harness(payload(b"lamina: hi\xff\n", power_off=True), "--name", "off",
                              "--expect", "^lamina: hi", "--reject", "panic", "--log", str(log))
        self.assertEqual(run.stdout, "PASS: off\n", run.stderr)
        self.assertEqual(log.read_bytes(), b"lamina: hi\xff\n")

    def test_failure_prints_whole_log_with_replaced_bytes(self):
        run, _ = self.harness(payload(b"one\ntwo: panic\xff\n", power_off=True), "--name", "rej",
                              "--reject", "panic", "--timeout", "10")
        self.assertEqual(run.returncode, 1)
        self.assertEqual(run.stdout.splitlines()[0],
                         "FAIL: rej: rejected /panic/ matched at line 2: 'two: panic\ufffd'")
        self.assertIn("----- serial log -----\none\ntwo: panic\ufffd\n----- end of serial log -----\n",
                      run.stdout)

    def test_until_stops_a_parked_guest(self):
        run, elapsed = self.harness(payload(b"ready\n"), "--until", "^ready$", "--timeout", "20")
        self.assertEqual(run.returncode, 0, run.stdout)
        self.assertTrue(run.stdout.startswith("PASS: "))
        self.assertLess(elapsed, 10)
        self.assertFalse(self.qemu_still_running())

    def test_payloads_are_loaded_raw_where_the_dtb_says(self):
        # The guest kernel is an ELF asking to be loaded at 0x4a000000; the "lamina" here echoes
        # the 7 bytes after its headers from the first module slot, 0x48200000 + 120.
        guest = self.tmp / "guest.elf"
        guest.write_bytes(tiny_elf(0x4A000000, b"RAW-OK\n"))
        echo = payload(echo_from=0x48200000, echo_len=64 + 56 + 7, power_off=True)
        run, _ = self.harness(echo, "--guest-kernel", str(guest), "--name", "raw", "--timeout", "20",
                              "--expect", "RAW-OK\n")
        self.assertEqual(run.stdout.splitlines()[0], "PASS: raw", run.stdout + run.stderr)

    def test_bare_runs_the_guest_at_el1(self):
        # HVC reaches QEMU's PSCI only from EL1 (at EL2 the conduit is SMC): powering off proves
        # the guest was entered at EL1 without virtualization=on.
        path = self.tmp / "bare.bin"
        path.write_bytes(payload(b"bare guest\n", power_off=True, conduit=HVC_0))
        start = time.monotonic()
        run = subprocess.run([sys.executable, str(SCRIPT), "--bare", "--guest-kernel", str(path),
                              "--vcpus", "2", "--guest-mem", "128M", "--timeout", "20",
                              "--expect", "^bare guest$", "--name", "bare"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(run.stdout, "PASS: bare\n", run.stderr)
        self.assertLess(time.monotonic() - start, 15)

    def test_send_after_types_on_the_console_in_order(self):
        # The payload echoes what it receives until a 'q': the second step waits for the
        # first one's echo, so both must have been typed, in order.
        run, _ = self.harness(echo_payload(b"ready> ", ord("q")), "--name", "typing", "--timeout", "20",
                              "--send-after", "ready> ", r"one\x1c\t",
                              "--send-after", "one\x1c", "two q",
                              "--expect", "ready> one\x1c\ttwo q")
        self.assertEqual(run.stdout, "PASS: typing\n", run.stdout + run.stderr)

    def test_send_after_that_never_matches_fails(self):
        run, _ = self.harness(echo_payload(b"ready> ", ord("q")), "--name", "stuck", "--timeout", "4",
                              "--send-after", "ready> ", "x",
                              "--send-after", "never", "q")
        self.assertEqual(run.returncode, 1)
        self.assertEqual(run.stdout.splitlines()[0],
                         "FAIL: stuck: timed out after 4 s; --send-after step 2 never typed: /never/ did not match")

    def test_exit_status_mismatch(self):
        run, _ = self.harness(payload(b"x", power_off=True), "--expect-exit", "1", "--name", "st")
        self.assertEqual(run.returncode, 1)
        self.assertTrue(run.stdout.startswith("FAIL: st: QEMU exited with status 0, expected 1\n"))


if __name__ == "__main__":
    unittest.main()
