"""Self-test for scripts/boot-bench: parsing, consistency checks, the table, and the
runner's flow with a stand-in launcher. No QEMU.

Run from the repository root:  python3 -m unittest scripts/test_boot_bench.py

The canned logs are real serial logs of the Linux guest images (-cpu max, GICv3, 1 GiB,
icount; lamina with lamina.stats), shortened. Expected figures are worked out by hand:
time since reset = CNTVCT_EL0 + CNTVOFF_EL2, and with a 1 GHz counter a tick is 1 ns.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import io
import json
import os
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "boot-bench"


def _load_script():
    loader = importlib.machinery.SourceFileLoader("boot_bench", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up here
    loader.exec_module(module)
    return module


bb = _load_script()

NATIVE_LOG = textwrap.dedent("""\
    [    0.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]
    [    0.000000] Linux version 6.1.0-56-arm64 (debian-kernel@lists.debian.org)
    [    0.947291] Run /init as init process
    LAMINA-GUEST: start
    LAMINA-GUEST: counter start cntvct=960764211 cntfrq=1000000000
    LAMINA-GUEST: kernel 6.1.0-56-arm64 (#1 SMP Debian 6.1.192-2 (2026-11-16))
    LAMINA-CHECK cpus: PASS 1 online (0), 1 in /proc/cpuinfo, expected 1 (lamina.vcpus)
    LAMINA-CHECK tmpfs: PASS /tmp is tmpfs, wrote and read back 108894 bytes, md5 e071f707df7bbeee2a6a1eb48011ddd0
    LAMINA-GUEST: counter end cntvct=1299121267 cntfrq=1000000000
    LAMINA-RESULT: PASS 5 checks
    [    1.300052] reboot: Power down
    """)

LAMINA_LOG = textwrap.dedent("""\
    lamina: 0.001357 cpu0 info: lamina b041fe5-dirty: bare-metal AArch64 hypervisor
    lamina: 0.008955 cpu0 info: vm vm1: 1 vCPU, 1024 MiB RAM in 1 piece, 48-bit IPA, Linux arm64 Image kernel, entry 0x40200000, DT at 0x48200000
    lamina: 0.033817 cpu0 info: boot complete: running 1 VM
    lamina: 0.033821 cpu0 info: vm vm1: vcpu0 enters the guest at counter 33821228 (CNTVOFF_EL2 0)
    [    0.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]
    LAMINA-GUEST: start
    LAMINA-GUEST: counter start cntvct=977977976 cntfrq=1000000000
    LAMINA-GUEST: kernel 6.1.0-56-arm64 (#1 SMP Debian 6.1.192-2 (2026-11-16))
    LAMINA-CHECK cpus: PASS 1 online (0), 1 in /proc/cpuinfo, expected 1 (lamina.vcpus)
    LAMINA-GUEST: counter end cntvct=1316222847 cntfrq=1000000000
    LAMINA-RESULT: PASS 5 checks
    [    1.316400] reboot: Power down
    lamina: 1.317337 cpu0 info: vm vm1: stopped (SYSTEM_OFF)
    lamina: 1.317340 cpu0 info: vm vm1: stage-2 fault-ins 4K=0 2M=38 1G=0, mmio uart=30466 test=0 gicd=106 gicr=32, hvc=12 smc=0 sysreg=48 wfi=6 irq=246 vtimer=252, injected aborts=0 undefs=0, other=0, resets=0
    lamina: 1.317349 cpu0 info: every VM has stopped: powering off
    """)


def edited(log: str, old: str, new: str) -> str:
    assert old in log, old
    return log.replace(old, new)


def without(log: str, fragment: str) -> str:
    return "".join(line for line in log.splitlines(keepends=True) if fragment not in line)


class ParseTest(unittest.TestCase):
    def test_native(self):
        run = bb.parse_log(NATIVE_LOG)
        self.assertEqual((run.start, run.end, run.freq), (960764211, 1299121267, 1000000000))
        self.assertEqual(run.result, "PASS 5 checks")
        self.assertEqual(run.kernel, "6.1.0-56-arm64 (#1 SMP Debian 6.1.192-2 (2026-11-16))")
        self.assertEqual(run.entries, ())
        self.assertIsNone(run.stats)
        self.assertEqual(run.cntvoff, 0)
        self.assertEqual(run.since_reset("end"), 1299121267)

    def test_lamina_entry_and_stats(self):
        run = bb.parse_log(LAMINA_LOG)
        self.assertEqual(run.boot_vcpu_entry(), bb.GuestEntry("vm1", 0, 33821228, 0))
        self.assertEqual(run.stats["2M"], 38)
        self.assertEqual(run.stats["uart"], 30466)
        self.assertEqual(run.stats["gicd"], 106)
        self.assertEqual(run.stats["gicr"], 32)
        self.assertEqual(run.stats["aborts"], 0)
        self.assertEqual(run.stats["resets"], 0)
        self.assertEqual(len(run.stats), 17)

    def test_cntvoff_is_added(self):
        # A guest whose counter lamina offset by 33,000,000 ticks: its readings are
        # that much short of the time since reset.
        log = edited(LAMINA_LOG, "(CNTVOFF_EL2 0)", "(CNTVOFF_EL2 33000000)")
        log = edited(log, "cntvct=977977976", "cntvct=944977976")
        run = bb.parse_log(log)
        self.assertEqual(run.cntvoff, 33000000)
        self.assertEqual(run.since_reset("start"), 977977976)
        self.assertEqual(run.since_reset("end"), 1316222847 + 33000000)

    def test_secondary_entries_do_not_replace_the_boot_vcpu(self):
        log = edited(LAMINA_LOG, "LAMINA-GUEST: start\n",
                     "lamina: 0.5 cpu1 info: vm vm1: vcpu1 enters the guest at counter 500000000 (CNTVOFF_EL2 7)\n"
                     "LAMINA-GUEST: start\n")
        run = bb.parse_log(log)
        self.assertEqual(len(run.entries), 2)
        self.assertEqual(run.boot_vcpu_entry().counter, 33821228)
        self.assertEqual(run.cntvoff, 0)

    def test_carriage_returns_and_vm_prefixes(self):
        log = NATIVE_LOG.replace("\n", "\r\n").replace("LAMINA-GUEST: counter", "[vm1] LAMINA-GUEST: counter")
        run = bb.parse_log(log)
        self.assertEqual((run.start, run.end), (960764211, 1299121267))

    def test_frequencies_must_agree(self):
        with self.assertRaisesRegex(bb.BenchError, "different frequencies"):
            bb.parse_log(edited(NATIVE_LOG, "1299121267 cntfrq=1000000000", "1299121267 cntfrq=62500000"))

    def test_restart_is_counted(self):
        log = NATIVE_LOG + "LAMINA-GUEST: counter start cntvct=1500000000 cntfrq=1000000000\n"
        run = bb.parse_log(log)
        self.assertEqual(run.start, 960764211)
        self.assertEqual(run.restarts, 1)


class CheckTest(unittest.TestCase):
    def test_consistent_logs_pass(self):
        self.assertEqual(bb.check_run(bb.parse_log(NATIVE_LOG), False), [])
        self.assertEqual(bb.check_run(bb.parse_log(LAMINA_LOG), True), [])

    def test_missing_readings(self):
        for fragment, what in (("counter start", "start marker"), ("counter end", "end of checks")):
            with self.subTest(fragment=fragment):
                problems = bb.check_run(bb.parse_log(without(NATIVE_LOG, fragment)), False)
                self.assertTrue(any(what in p for p in problems), problems)

    def test_failed_checks(self):
        problems = bb.check_run(bb.parse_log(edited(NATIVE_LOG, "PASS 5 checks", "FAIL 1 of 5 checks failed: timer")),
                                False)
        self.assertEqual(problems, ["the in-guest checks failed: FAIL 1 of 5 checks failed: timer"])
        problems = bb.check_run(bb.parse_log(without(NATIVE_LOG, "LAMINA-RESULT")), False)
        self.assertIn("no LAMINA-RESULT line", problems[0])

    def test_counter_backwards(self):
        problems = bb.check_run(bb.parse_log(edited(NATIVE_LOG, "cntvct=1299121267", "cntvct=960000000")), False)
        self.assertTrue(any("backwards" in p for p in problems), problems)

    def test_reboot(self):
        log = NATIVE_LOG + "LAMINA-GUEST: counter start cntvct=1500000000 cntfrq=1000000000\n"
        self.assertIn("the guest started 2 times: one boot is measured", bb.check_run(bb.parse_log(log), False))

    def test_lamina_needs_its_lines(self):
        problems = bb.check_run(bb.parse_log(without(LAMINA_LOG, "enters the guest")), True)
        self.assertTrue(any("CNTVOFF_EL2 the guest ran with is unknown" in p for p in problems), problems)
        problems = bb.check_run(bb.parse_log(without(LAMINA_LOG, "stage-2 fault-ins")), True)
        self.assertTrue(any("lamina.stats" in p for p in problems), problems)

    def test_start_before_entry_is_impossible(self):
        problems = bb.check_run(bb.parse_log(edited(LAMINA_LOG, "counter 33821228", "counter 999999999")), True)
        self.assertTrue(any("comes before lamina entered the guest" in p for p in problems), problems)

    def test_native_log_with_lamina_lines(self):
        self.assertEqual(bb.check_run(bb.parse_log(LAMINA_LOG), False), ["lamina's lines in a native run"])

    def test_analyse_names_the_run(self):
        with self.assertRaises(bb.BenchError) as cm:
            bb.analyse(1, NATIVE_LOG, without(LAMINA_LOG, "counter end"))
        self.assertIn("the lamina run with 1 vCPU", str(cm.exception))
        self.assertIn("LAMINA-RESULT: PASS", cm.exception.log)
        with self.assertRaisesRegex(bb.BenchError, "62500000 Hz natively"):
            bb.analyse(1, NATIVE_LOG.replace("cntfrq=1000000000", "cntfrq=62500000"), LAMINA_LOG)


class TableTest(unittest.TestCase):
    def setUp(self):
        self.config = bb.analyse(1, NATIVE_LOG, LAMINA_LOG)

    def test_rows(self):
        entry, start, end = self.config.rows()
        self.assertEqual((entry.milestone, entry.native, entry.lamina), ("entry", None, 33821228))
        self.assertIsNone(entry.ratio)
        self.assertFalse(entry.goal)
        self.assertEqual((start.native, start.lamina, start.difference), (960764211, 977977976, 17213765))
        self.assertAlmostEqual(start.ratio, 977977976 / 960764211)
        self.assertEqual(end.difference, 1316222847 - 1299121267)
        self.assertTrue(end.goal_met)  # 1.0132

    def test_goal(self):
        # 2% over: met; a tick more: not met. Only with one vCPU.
        log = edited(LAMINA_LOG, "cntvct=1316222847", "cntvct=1325103692")  # 1.02 x 1299121267 = 1325103692.3
        end = bb.analyse(1, NATIVE_LOG, log).rows()[2]
        self.assertTrue(end.goal_met)
        log = edited(LAMINA_LOG, "cntvct=1316222847", "cntvct=1325103693")
        self.assertFalse(bb.analyse(1, NATIVE_LOG, log).rows()[2].goal_met)
        self.assertIsNone(bb.analyse(2, NATIVE_LOG, log).rows()[2].goal_met)

    def test_text(self):
        text = bb.render_text([self.config, bb.analyse(2, NATIVE_LOG, LAMINA_LOG)], {"commit": "abc"})
        self.assertIn("commit: abc", text)
        self.assertRegex(text, r"1 +lamina enters the guest +n/a +33,821,228 +n/a +0\.033821 +n/a +- +-")
        self.assertRegex(text, r"1 +start marker +960,764,211 +977,977,976 +0\.960764 +0\.977978 +17,213,765 +1\.0179 "
                               r"+<= 1\.02: met")
        self.assertRegex(text, r"1 +end of checks +1,299,121,267 +1,316,222,847 +1\.299121 +1\.316223 +17,101,580 "
                               r"+1\.0132 +<= 1\.02: met")
        self.assertRegex(text, r"2 +end of checks .* 1\.0132 +-\n")
        self.assertRegex(text, r"MMIO: virtual PL011 +30,466 +30,466")
        self.assertRegex(text, r"MMIO: vGIC redistributors +32 +32")
        self.assertRegex(text, r"stage-2 fault-ins, 2 MiB blocks +38 +38")
        self.assertRegex(text, r"exit kind +1 vCPU +2 vCPUs")

    def test_unknown_counters_are_shown_by_name(self):
        log = edited(LAMINA_LOG, "gicr=32,", "gicr=32 passthrough=7,")
        text = bb.render_text([bb.analyse(1, NATIVE_LOG, log)], {})
        self.assertRegex(text, r"\npassthrough +7\n")
        kinds = [k for k, _ in bb.exit_kinds([bb.analyse(1, NATIVE_LOG, log)])]
        self.assertEqual(kinds[-1], "passthrough")
        self.assertEqual(kinds[:3], ["4K", "2M", "1G"])

    def test_json(self):
        data = bb.render_json([self.config], {"commit": "abc"})
        self.assertEqual(data["schema"], "lamina-boot-bench/1")
        self.assertEqual(data["goal"], {"ratio": 1.02, "vcpus": 1})
        run = data["runs"][0]
        self.assertEqual(run["vcpus"], 1)
        self.assertEqual(run["milestones"]["start"]["lamina_minus_native_ticks"], 17213765)
        self.assertEqual(run["milestones"]["end"]["native_s"], 1.299121267)
        self.assertEqual(run["milestones"]["end"]["ratio"], round(1316222847 / 1299121267, 6))
        self.assertEqual(run["milestones"]["entry"]["lamina_ticks"], 33821228)
        self.assertEqual(run["lamina"]["cntvoff"], 0)
        self.assertEqual(run["exits"]["uart"], 30466)
        json.dumps(data)  # serializable


# A stand-in for scripts/lamina-qemu: writes a canned serial log to --log and records
# its arguments, or fails the way the launcher does.
FAKE_LAUNCHER = textwrap.dedent("""\
    #!/usr/bin/env python3
    import json, os, sys
    args = sys.argv[1:]
    kind = "native" if "--bare" in args else "lamina"
    vcpus = args[args.index("--vcpus") + 1]
    with open(os.environ["FAKE_RECORD"] + "." + kind + vcpus, "w") as f:
        json.dump(args, f)
    if os.environ.get("FAKE_FAIL") == kind:
        print("FAIL: boot-bench." + kind + ": timed out")
        print("half a log")
        sys.exit(1)
    with open(args[args.index("--log") + 1], "w") as f:
        f.write(open(os.environ["FAKE_LOG_" + kind.upper()]).read())
    print("PASS: boot-bench." + kind)
    """)


class MainTest(unittest.TestCase):
    """main(): options, files written, failures reported with the log."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="test-boot-bench-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp))
        self.native_log = self.tmp / "native.log"
        self.lamina_log = self.tmp / "lamina.log"
        self.native_log.write_text(NATIVE_LOG)
        self.lamina_log.write_text(LAMINA_LOG)
        self.out = self.tmp / "results"

    def run_main(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        saved = {k: os.environ.get(k) for k in (env or {})}
        os.environ.update(env or {})
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    rc = bb.main(list(args))
                except SystemExit as e:
                    rc = e.code
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return rc, out.getvalue(), err.getvalue()

    def test_help(self):
        rc, out, _ = self.run_main("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--from-log-dir", out)
        self.assertIn("lamina.mode=auto", out)

    def test_bad_vcpus_is_a_usage_error(self):
        for value in ("0", "1,x", "2,2", ""):
            with self.subTest(value=value):
                rc, _, _ = self.run_main("--vcpus", value)
                self.assertEqual(rc, 2)

    def _fake(self, fail: str | None = None) -> tuple[list[str], dict[str, str]]:
        launcher = self.tmp / "fake-launcher"
        launcher.write_text(FAKE_LAUNCHER)
        launcher.chmod(0o755)
        files = {}
        for name in ("lamina.bin", "Image", "initramfs.cpio.gz"):
            files[name] = self.tmp / name
            files[name].write_bytes(b"\0")
        env = {"FAKE_RECORD": str(self.tmp / "argv"), "FAKE_LOG_NATIVE": str(self.native_log),
               "FAKE_LOG_LAMINA": str(self.lamina_log)}
        if fail:
            env["FAKE_FAIL"] = fail
        args = ["--launcher", str(launcher), "--image", str(files["lamina.bin"]), "--kernel", str(files["Image"]),
                "--initrd", str(files["initramfs.cpio.gz"]), "--out-dir", str(self.out),
                "--log-dir", str(self.tmp / "logs")]
        return args, env

    def test_runs_native_and_lamina_per_vcpu_count(self):
        args, env = self._fake()
        rc, out, err = self.run_main(*args, env=env)
        self.assertEqual(rc, 0, err)

        def value(argv: list[str], opt: str) -> str:
            return argv[argv.index(opt) + 1]

        for vcpus in ("1", "2"):
            native = json.loads((self.tmp / f"argv.native{vcpus}").read_text())
            lamina = json.loads((self.tmp / f"argv.lamina{vcpus}").read_text())
            for argv in (native, lamina):
                self.assertIn("--icount", argv)
                self.assertEqual(value(argv, "--vcpus"), vcpus)
                self.assertEqual(value(argv, "--guest-mem"), "1024M")
                self.assertEqual(value(argv, "--gic"), "3")
                self.assertEqual(value(argv, "--cpu"), "max")
                self.assertEqual(value(argv, "--guest-kernel"), str(self.tmp / "Image"))
                self.assertEqual(value(argv, "--guest-initrd"), str(self.tmp / "initramfs.cpio.gz"))
            # The same kernel command line natively and under lamina.
            self.assertEqual(value(native, "--guest-append"), value(lamina, "--guest-append"))
            self.assertIn(f"lamina.vcpus={vcpus} ", value(native, "--guest-append"))
            self.assertIn("--bare", native)
            self.assertNotIn("--append", native)
            self.assertEqual(value(lamina, "--append"), "lamina.stats")
            self.assertEqual(value(lamina, "--cpus"), vcpus)
            self.assertEqual(value(lamina, "--log"), str(self.tmp / "logs" / f"boot-bench-lamina-{vcpus}vcpu.log"))
        files = sorted(p.name for p in self.out.iterdir())
        self.assertEqual(len(files), 2, files)
        self.assertRegex(files[0], r"^boot-\d{8}-\d{6}-.+\.json$")
        self.assertEqual(files[0][:-5], files[1][:-4])
        self.assertIn((self.out / files[1]).read_text(), out)
        self.assertEqual([r["vcpus"] for r in json.loads((self.out / files[0]).read_text())["runs"]], [1, 2])

    def test_from_log_dir(self):
        logs = self.tmp / "logs"
        logs.mkdir()
        (logs / "boot-bench-native-1vcpu.log").write_text(NATIVE_LOG)
        (logs / "boot-bench-lamina-1vcpu.log").write_text(LAMINA_LOG)
        rc, out, err = self.run_main("--from-log-dir", str(logs), "--vcpus", "1", "--no-write", "--out-dir",
                                     str(self.out))
        self.assertEqual(rc, 0, err)
        self.assertIn("1.0132", out)
        self.assertFalse(self.out.exists())

    def test_native_dtb_goes_to_the_native_runs_only(self):
        args, env = self._fake()
        for vcpus in (1, 2):
            (self.tmp / f"control-{vcpus}.dtb").write_bytes(b"\0")
        rc, out, err = self.run_main(*args, "--native-dtb", str(self.tmp / "control-{vcpus}.dtb"), env=env)
        self.assertEqual(rc, 0, err)
        for vcpus in (1, 2):
            native = json.loads((self.tmp / f"argv.native{vcpus}").read_text())
            lamina = json.loads((self.tmp / f"argv.lamina{vcpus}").read_text())
            self.assertEqual(native[native.index("--guest-dtb") + 1], str(self.tmp / f"control-{vcpus}.dtb"))
            self.assertNotIn("--guest-dtb", lamina)
        self.assertIn("native DTB: control-{vcpus}.dtb (not QEMU's own)", out)
        rc, _, err = self.run_main(*args, "--vcpus", "1,3", "--native-dtb", str(self.tmp / "control-{vcpus}.dtb"),
                                   env=env)
        self.assertEqual(rc, 2)
        self.assertIn("native DTB", err)

    def test_failed_run_fails_and_prints_the_launcher_output(self):
        for kind in ("native", "lamina"):
            with self.subTest(kind=kind):
                args, env = self._fake(fail=kind)
                rc, _, err = self.run_main(*args, env=env)
                self.assertEqual(rc, 1)
                self.assertIn("failed (launcher exit status 1)", err)
                self.assertIn("half a log", err)
                self.assertFalse(self.out.exists())

    def test_inconsistent_log_fails_and_prints_it(self):
        self.lamina_log.write_text(without(LAMINA_LOG, "enters the guest"))
        args, env = self._fake()
        rc, _, err = self.run_main(*args, env=env)
        self.assertEqual(rc, 1)
        self.assertIn("CNTVOFF_EL2 the guest ran with is unknown", err)
        self.assertIn("----- lamina serial log (1 vCPU) -----", err)
        self.assertFalse(self.out.exists())

    def test_missing_kernel_is_a_usage_error(self):
        args, env = self._fake()
        args[args.index("--kernel") + 1] = str(self.tmp / "nothing")
        rc, _, err = self.run_main(*args, env=env)
        self.assertEqual(rc, 2)
        self.assertIn("make guest-images", err)


if __name__ == "__main__":
    unittest.main()
