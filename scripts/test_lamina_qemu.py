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


class UsageErrorTest(unittest.TestCase):
    """Mistakes exit with status 2 and a message naming the problem, never a traceback."""

    def assertUsageError(self, args: list[str], message: str) -> None:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as cm:
            lq.parse_args(args)
        self.assertEqual(cm.exception.code, 2, err.getvalue())
        self.assertIn(message, err.getvalue())

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

    def run_main(self, args: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            return lq.main(args), err.getvalue()

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


SMC_0 = 0xD4000003
B_SELF = 0x14000000  # b .
PSCI_SYSTEM_OFF = 0x84000008


def payload(message: bytes = b"", power_off: bool = False) -> bytes:
    words = []
    if message:
        words += [_movz_x(0, _PL011 >> 16, 1),         # x0 = PL011
                  _movz_w(1, 0x301), _str_w(1, 0, 0x30)]  # UARTCR = UARTEN | TXE | RXE
        for byte in message:
            words += [_movz_w(1, byte), _str_w(1, 0, 0)]  # UARTDR = byte
    if power_off:  # QEMU implements PSCI; conduit is SMC when entered at EL2
        words += [_movz_w(0, PSCI_SYSTEM_OFF & 0xFFFF), _movk_w(0, PSCI_SYSTEM_OFF >> 16, 1), SMC_0]
    words.append(B_SELF)
    return struct.pack(f"<{len(words)}I", *words)


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

    def test_exit_status_mismatch(self):
        run, _ = self.harness(payload(b"x", power_off=True), "--expect-exit", "1", "--name", "st")
        self.assertEqual(run.returncode, 1)
        self.assertTrue(run.stdout.startswith("FAIL: st: QEMU exited with status 0, expected 1\n"))


if __name__ == "__main__":
    unittest.main()
