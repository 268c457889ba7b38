"""Self-test for scripts/exit-bench: parsing, consistency checks, the table, and the
runner's flow with a stand-in launcher. No QEMU.

Run from the repository root:  python3 -m unittest scripts/test_exit_bench.py

The canned logs are real serial logs of the benchmark guest (lamina: -cpu max,
65792K of guest RAM, lamina.stats; bare QEMU at EL1), shortened. Expected figures
are worked out by hand from the ticks in them: under -icount shift=0 with a 1 GHz
counter one tick is one instruction, and net = (ticks - overhead_ticks) / iterations.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "exit-bench"


def _load_script():
    loader = importlib.machinery.SourceFileLoader("exit_bench", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up here
    loader.exec_module(module)
    return module


eb = _load_script()

GUEST_MEM = 65792 * 1024  # 64 MiB + 256 KiB: a tail of 64 pages

LAMINA_LOG = textwrap.dedent("""\
    lamina: 0.001345 cpu0 info: lamina ec23a60: bare-metal AArch64 hypervisor
    lamina: 0.008403 cpu0 info: vm vm1: 1 vCPU, 64 MiB RAM in 2 pieces, 48-bit IPA, raw binary kernel, entry 0x40080000, DT at 0x42200000
    lamina: 0.008428 cpu0 info: boot complete: running 1 VM

    GUEST-INFO start bench-exits (CPU MPIDR 0x80000000, counter 1000000000 Hz)
    GUEST-CHECK bench.dt: PASS
    BENCH null-hvc iterations=1000 samples=10 ticks=309020 overhead_ticks=3020 min_ticks=30902 max_ticks=30902 freq=1000000000 result=0x10001
    BENCH psci-version-smc iterations=1000 samples=10 ticks=332020 overhead_ticks=3020 min_ticks=33202 max_ticks=33202 freq=1000000000 result=0x10001
    BENCH mmio-read-pl011 iterations=1000 samples=10 ticks=568020 overhead_ticks=2020 min_ticks=56802 max_ticks=56802 freq=1000000000 result=0x90
    BENCH mmio-write-pl011 iterations=1000 samples=10 ticks=417020 overhead_ticks=2020 min_ticks=41702 max_ticks=41702 freq=1000000000 result=0x0
    GUEST-CHECK bench.pl011.ilpr-unchanged: PASS
    BENCH mmio-write-test-device iterations=1000 samples=10 ticks=409020 overhead_ticks=2020 min_ticks=40902 max_ticks=40902 freq=1000000000 result=0x123456789abcdef
    GUEST-CHECK bench.test-device.scratch: PASS
    BENCH mmio-read-test-device iterations=1000 samples=10 ticks=425020 overhead_ticks=2020 min_ticks=42502 max_ticks=42502 freq=1000000000 result=0x123456789abcdef
    BENCH idreg-read iterations=1000 samples=10 ticks=269020 overhead_ticks=2020 min_ticks=26902 max_ticks=26902 freq=1000000000 result=0x1101000010110011
    GUEST-CHECK bench.dt-memory: PASS
    GUEST-CHECK bench.layout: PASS
    BENCH-LAYOUT ram=0x40000000+0x4040000 image=0x40080000+0x27000 dtb=0x42200000+0x548 tail=0x44000000+0x40000 pretouched_2m=2 pretouched_4k=0
    BENCH fault-in-2m iterations=15 samples=15 ticks=2586469 overhead_ticks=30 min_ticks=172431 max_ticks=172435 freq=1000000000
    BENCH retouch-2m iterations=15 samples=15 ticks=45 overhead_ticks=30 min_ticks=3 max_ticks=3 freq=1000000000
    GUEST-CHECK bench.fault-in-2m.values: PASS
    BENCH fault-in-4k iterations=64 samples=64 ticks=209429 overhead_ticks=128 min_ticks=3241 max_ticks=5234 freq=1000000000
    BENCH retouch-4k iterations=64 samples=64 ticks=192 overhead_ticks=128 min_ticks=3 max_ticks=3 freq=1000000000
    GUEST-CHECK bench.fault-in-4k.values: PASS
    GUEST-RESULT: PASS 7 checks
    lamina: 0.016632 cpu0 info: vm vm1: stopped (SYSTEM_OFF)
    lamina: 0.016634 cpu0 info: vm vm1: stage-2 fault-ins 4K=64 2M=17 1G=0, mmio uart=6103 test=2017, hvc=1010 smc=1009 sysreg=1009 wfi=0 irq=0, injected aborts=0 undefs=0, other=0, resets=0
    lamina: 0.016643 cpu0 info: every VM has stopped: powering off
    """).replace("\n", "\r\n")  # the serial console's line ends

BARE_LOG = textwrap.dedent("""\

    GUEST-INFO start bench-exits (CPU MPIDR 0x80000000, counter 1000000000 Hz)
    GUEST-CHECK bench.dt: PASS
    BENCH null-hvc iterations=1000 samples=10 ticks=4020 overhead_ticks=3020 min_ticks=402 max_ticks=402 freq=1000000000 result=0xffffffffffffffff
    GUEST-INFO SMC took an exception (ESR 0x2000000): no SMC conduit here
    BENCH psci-version-smc unavailable reason=smc-not-a-conduit
    BENCH mmio-read-pl011 iterations=1000 samples=10 ticks=3020 overhead_ticks=2020 min_ticks=302 max_ticks=302 freq=1000000000 result=0x90
    BENCH mmio-write-pl011 iterations=1000 samples=10 ticks=3020 overhead_ticks=2020 min_ticks=302 max_ticks=302 freq=1000000000 result=0x0
    GUEST-CHECK bench.pl011.ilpr-unchanged: PASS
    BENCH mmio-read-test-device unavailable reason=no-test-device
    BENCH mmio-write-test-device unavailable reason=no-test-device
    BENCH idreg-read iterations=1000 samples=10 ticks=3020 overhead_ticks=2020 min_ticks=302 max_ticks=302 freq=1000000000 result=0x1301001121110022
    GUEST-CHECK bench.dt-memory: PASS
    GUEST-CHECK bench.layout: PASS
    BENCH-LAYOUT ram=0x40000000+0x4040000 image=0x40080000+0x27000 dtb=0x42200000+0x100000 tail=0x44000000+0x40000 pretouched_2m=2 pretouched_4k=0
    BENCH fault-in-2m iterations=15 samples=15 ticks=45 overhead_ticks=30 min_ticks=3 max_ticks=3 freq=1000000000
    BENCH retouch-2m iterations=15 samples=15 ticks=45 overhead_ticks=30 min_ticks=3 max_ticks=3 freq=1000000000
    GUEST-CHECK bench.fault-in-2m.values: PASS
    BENCH fault-in-4k iterations=64 samples=64 ticks=192 overhead_ticks=128 min_ticks=3 max_ticks=3 freq=1000000000
    BENCH retouch-4k iterations=64 samples=64 ticks=192 overhead_ticks=128 min_ticks=3 max_ticks=3 freq=1000000000
    GUEST-CHECK bench.fault-in-4k.values: PASS
    GUEST-RESULT: PASS 6 checks
    """)


def edited(log: str, old: str, new: str) -> str:
    assert old in log, old
    return log.replace(old, new)


def without_line(log: str, start: str) -> str:
    lines = log.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(start)]
    assert len(kept) == len(lines) - 1, start
    return "".join(kept)


class ParseTest(unittest.TestCase):
    """parse_log() turns a serial log into measurements, the layout and lamina's counters."""

    def setUp(self):
        self.lamina = eb.parse_log(LAMINA_LOG)
        self.bare = eb.parse_log(BARE_LOG)

    def test_every_operation_is_read(self):
        self.assertEqual(set(self.lamina.measurements), set(eb.OPERATION_NAMES))
        self.assertEqual(set(self.bare.measurements), set(eb.OPERATION_NAMES))

    def test_fields_of_a_line(self):
        m = self.lamina.measurements["null-hvc"]
        self.assertEqual((m.iterations, m.samples, m.ticks, m.overhead_ticks, m.min_ticks, m.max_ticks, m.freq,
                          m.result), (1000, 10, 309020, 3020, 30902, 30902, 1000000000, 0x10001))
        self.assertIsNone(self.lamina.measurements["fault-in-4k"].result)

    def test_net_figures_at_1ghz(self):
        hvc = self.lamina.measurements["null-hvc"]
        self.assertAlmostEqual(hvc.net_mean, 306.0)         # (309020 - 3020) / 1000
        self.assertAlmostEqual(hvc.raw_mean, 309.02)        # 309020 / 1000
        self.assertAlmostEqual(hvc.overhead, 3.02)          # 3020 / 1000
        self.assertAlmostEqual(hvc.net_min, 306.0)          # (30902 - 3020 / 10) / 100
        f4k = self.lamina.measurements["fault-in-4k"]
        self.assertAlmostEqual(f4k.net_mean, 3270.328125)   # (209429 - 128) / 64
        self.assertAlmostEqual(f4k.net_min, 3239.0)         # 3241 - 128 / 64
        self.assertAlmostEqual(f4k.net_max, 5232.0)         # 5234 - 2
        self.assertAlmostEqual(self.bare.measurements["null-hvc"].net_mean, 1.0)  # (4020 - 3020) / 1000

    def test_net_figures_at_62_5mhz(self):
        # cortex-a57's 62.5 MHz counter: one tick is 16 ns, 16 instructions.
        m = eb.parse_bench_line("null-hvc", "iterations=1000 samples=10 ticks=19300 overhead_ticks=300 "
                                            "min_ticks=1930 max_ticks=1931 freq=62500000 result=0x10001")
        self.assertAlmostEqual(m.net_mean, 304.0)           # (19300 - 300) / 1000 * 16
        self.assertAlmostEqual(m.net_max, 304.16)           # (1931 - 30) / 100 * 16
        self.assertEqual(eb.fmt(m.net_max), "304.2")

    def test_unavailable(self):
        u = self.bare.measurements["psci-version-smc"]
        self.assertIsInstance(u, eb.Unavailable)
        self.assertEqual(u.reason, "smc-not-a-conduit")

    def test_layout_and_stats(self):
        self.assertEqual((self.lamina.layout.pretouched_2m, self.lamina.layout.pretouched_4k), (2, 0))
        self.assertEqual(self.lamina.layout.fields["tail"], "0x44000000+0x40000")
        s = self.lamina.stats
        self.assertEqual((s["4K"], s["2M"], s["1G"], s["uart"], s["test"], s["hvc"], s["smc"], s["sysreg"]),
                         (64, 17, 0, 6103, 2017, 1010, 1009, 1009))
        self.assertIsNone(self.bare.stats)

    def test_missing_field_is_an_error(self):
        with self.assertRaisesRegex(eb.BenchError, "missing overhead_ticks"):
            eb.parse_log(edited(LAMINA_LOG, "ticks=309020 overhead_ticks=3020", "ticks=309020"))

    def test_bad_number_is_an_error(self):
        with self.assertRaisesRegex(eb.BenchError, "not a number"):
            eb.parse_log(edited(LAMINA_LOG, "ticks=309020", "ticks=30x9020"))

    def test_impossible_values_are_an_error(self):
        with self.assertRaisesRegex(eb.BenchError, "impossible"):
            eb.parse_log(edited(LAMINA_LOG, "freq=1000000000 result=0x10001\r\nBENCH psci",
                                "freq=0 result=0x10001\r\nBENCH psci"))

    def test_repeated_line_is_an_error(self):
        line = next(l for l in LAMINA_LOG.splitlines(keepends=True) if l.startswith("BENCH null-hvc"))
        with self.assertRaisesRegex(eb.BenchError, "twice"):
            eb.parse_log(LAMINA_LOG + line)


class CheckTest(unittest.TestCase):
    """check_lamina()/check_bare() refuse logs whose numbers would measure the wrong path."""

    def problems(self, log: str, guest_mem: int = GUEST_MEM) -> list[str]:
        return eb.check_lamina(eb.parse_log(log), guest_mem)

    def test_consistent_logs_pass(self):
        self.assertEqual(self.problems(LAMINA_LOG), [])
        self.assertEqual(eb.check_bare(eb.parse_log(BARE_LOG)), [])

    def test_2m_count_mismatch(self):
        # 15 measured + 2 pretouched = 17: one block fewer means a touch did not fault.
        (p,) = self.problems(edited(LAMINA_LOG, "2M=17", "2M=16"))
        self.assertIn("mapped 16 2M blocks", p)
        self.assertIn("touched 17", p)

    def test_4k_count_mismatch(self):
        (p,) = self.problems(edited(LAMINA_LOG, "4K=64", "4K=65"))
        self.assertIn("mapped 65 4K pages", p)

    def test_4k_touches_that_mapped_blocks(self):
        # The tail got 2M blocks: lamina's backing changed, the 4K row is wrong.
        ps = self.problems(edited(LAMINA_LOG, "4K=64 2M=17", "4K=0 2M=18"))
        self.assertEqual(len(ps), 2)

    def test_1g_block(self):
        (p,) = self.problems(edited(LAMINA_LOG, "1G=0", "1G=1"))
        self.assertIn("1G", p)

    def test_pretouched_counts_enter_the_check(self):
        ps = self.problems(edited(LAMINA_LOG, "pretouched_2m=2", "pretouched_2m=1"))
        self.assertTrue(any("2M" in p for p in ps), ps)

    def test_tail_must_match_the_guest_memory(self):
        # 64 MiB + 128 KiB has a 32-page tail, not 64.
        (p,) = self.problems(LAMINA_LOG, guest_mem=(65536 + 128) * 1024)
        self.assertIn("has 32", p)
        self.assertEqual(eb.expected_tail_pages(GUEST_MEM), 64)
        self.assertEqual(eb.expected_tail_pages(64 << 20), 0)

    def test_exits_that_did_not_exit(self):
        (p,) = self.problems(edited(LAMINA_LOG, "sysreg=1009", "sysreg=9"))
        self.assertIn("sysreg", p)
        (p,) = self.problems(edited(LAMINA_LOG, "test=2017", "test=1999"))
        self.assertIn("mmio-read-test-device and mmio-write-test-device", p)

    def test_wrong_answers(self):
        (p,) = self.problems(edited(LAMINA_LOG, "freq=1000000000 result=0x10001\r\nBENCH psci",
                                    "freq=1000000000 result=0xffffffffffffffff\r\nBENCH psci"))
        self.assertIn("SMCCC_VERSION", p)
        (p,) = self.problems(edited(LAMINA_LOG, "max_ticks=33202 freq=1000000000 result=0x10001",
                                    "max_ticks=33202 freq=1000000000 result=0x2"))
        self.assertIn("PSCI_VERSION", p)

    def test_missing_pieces(self):
        (p,) = self.problems(without_line(LAMINA_LOG, "lamina: 0.016634"))
        self.assertIn("lamina.stats", p)
        (p,) = self.problems(without_line(LAMINA_LOG, "BENCH-LAYOUT"))
        self.assertIn("BENCH-LAYOUT", p)
        (p,) = self.problems(without_line(LAMINA_LOG, "BENCH idreg-read"))
        self.assertIn("no BENCH idreg-read", p)

    def test_unavailable_under_lamina(self):
        log = re.sub(r"BENCH mmio-read-test-device [^\r]*", "BENCH mmio-read-test-device unavailable "
                     "reason=no-test-device", LAMINA_LOG)
        (p,) = self.problems(log)
        self.assertIn("unavailable under lamina (no-test-device)", p)

    def test_bare_may_lack_only_what_it_cannot_do(self):
        log = re.sub(r"BENCH idreg-read [^\n]*", "BENCH idreg-read unavailable reason=x", BARE_LOG)
        (p,) = eb.check_bare(eb.parse_log(log))
        self.assertIn("idreg-read", p)
        (p,) = eb.check_bare(eb.parse_log(without_line(BARE_LOG, "BENCH psci-version-smc")))
        self.assertIn("no BENCH psci-version-smc", p)


class TableTest(unittest.TestCase):
    """The rows, the text table and the JSON."""

    def setUp(self):
        self.lamina, self.bare, self.rows = eb.analyse(LAMINA_LOG, BARE_LOG, GUEST_MEM)
        self.by_name = {r.op.name: r for r in self.rows}
        self.meta = {"commit": "abc1234", "cpu": "max"}

    def test_rows_in_order(self):
        self.assertEqual([r.op.name for r in self.rows], list(eb.OPERATION_NAMES))

    def test_figures(self):
        hvc = self.by_name["null-hvc"]
        self.assertAlmostEqual(hvc.lamina.net_mean, 306.0)
        self.assertAlmostEqual(hvc.bare.net_mean, 1.0)
        self.assertAlmostEqual(hvc.difference, 305.0)
        self.assertAlmostEqual(hvc.target_ratio, 306 / 80)
        self.assertIsNone(self.by_name["psci-version-smc"].bare)
        self.assertIsNone(self.by_name["psci-version-smc"].difference)
        self.assertIsNone(self.by_name["idreg-read"].target_ratio)
        self.assertAlmostEqual(self.by_name["mmio-write-pl011"].difference, 414.0)   # 415 - 1

    def test_fmt(self):
        self.assertEqual(eb.fmt(306.0), "306")
        self.assertEqual(eb.fmt(3270.328125), "3,270.3")
        self.assertEqual(eb.fmt(172429.2667), "172,429.3")
        self.assertEqual(eb.fmt(None), "n/a")
        self.assertEqual(eb.fmt_target(self.by_name["null-hvc"]), ("<= 80", "3.8x over"))
        self.assertEqual(eb.fmt_target(self.by_name["retouch-4k"]), ("-", "-"))

    def test_target_met(self):
        row = eb.Row(eb.OPERATIONS[0], eb.parse_bench_line("null-hvc", "iterations=10 samples=1 ticks=830 "
                     "overhead_ticks=30 min_ticks=830 max_ticks=830 freq=1000000000"), None)
        self.assertEqual(eb.fmt_target(row), ("<= 80", "met"))   # (830 - 30) / 10 = 80

    def test_text(self):
        text = eb.render_text(self.rows, self.meta)
        self.assertIn("commit: abc1234", text)
        self.assertRegex(text, r"operation +lamina +bare QEMU +lamina - bare +target +vs target")
        self.assertRegex(text, r"null HVC \(SMCCC_VERSION\) +306 +1 +305 +<= 80 +3\.8x over")
        self.assertRegex(text, r"PSCI_VERSION over SMC +329 +n/a +n/a +- +-")
        self.assertRegex(text, r"4K fault-in \(first touch\) +3,270\.3 +1 +3,269\.3 +<= 1,200 +2\.7x over")
        self.assertRegex(text, r"4K fault-in \(first touch\) +lamina +3,270\.3 +3,239 +5,232 +3,272\.3 +2 +64 +64")
        self.assertRegex(text, r"null HVC \(SMCCC_VERSION\) +bare QEMU +1 +1 +1 +4 +3 +1000 +10 +0xffffffffffffffff")
        self.assertNotRegex(text, r"MMIO read, test device +bare QEMU")

    def test_json(self):
        data = eb.render_json(self.rows, self.meta, self.lamina, self.bare)
        json.dumps(data)  # serializable
        self.assertEqual(data["schema"], "lamina-exit-bench/1")
        ops = {o["name"]: o for o in data["operations"]}
        self.assertEqual(list(ops), list(eb.OPERATION_NAMES))
        self.assertEqual(ops["null-hvc"]["lamina_minus_bare"], 305.0)
        self.assertEqual(ops["null-hvc"]["target"], 80)
        self.assertFalse(ops["null-hvc"]["within_target"])
        self.assertEqual(ops["null-hvc"]["lamina"]["result"], "0x10001")
        self.assertIsNone(ops["psci-version-smc"]["bare"])
        self.assertIsNone(ops["idreg-read"]["within_target"])
        self.assertEqual(ops["fault-in-4k"]["lamina"]["instructions"]["net_min"], 3239.0)
        self.assertEqual(data["lamina_stats"]["2M"], 17)
        self.assertEqual(data["bare_unavailable"]["mmio-read-test-device"], "no-test-device")


# A stand-in for scripts/lamina-qemu: writes a canned serial log to --log and
# records its arguments, or fails the way the launcher does.
FAKE_LAUNCHER = textwrap.dedent("""\
    #!/usr/bin/env python3
    import json, os, sys
    args = sys.argv[1:]
    kind = "bare" if "--bare" in args else "lamina"
    with open(os.environ["FAKE_RECORD"] + "." + kind, "w") as f:
        json.dump(args, f)
    if os.environ.get("FAKE_FAIL") == kind:
        print("FAIL: exit-bench." + kind + ": timed out")
        print("----- serial log -----")
        print("half a log")
        print("----- end of serial log -----")
        sys.exit(1)
    with open(args[args.index("--log") + 1], "w") as f:
        f.write(open(os.environ["FAKE_LOG_" + kind.upper()]).read())
    print("PASS: exit-bench." + kind)
    """)


class MainTest(unittest.TestCase):
    """main(): options, files written, failures reported with the log."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="test-exit-bench-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp))
        self.lamina_log = self.tmp / "lamina.log"
        self.bare_log = self.tmp / "bare.log"
        self.lamina_log.write_text(LAMINA_LOG)
        self.bare_log.write_text(BARE_LOG)
        self.out = self.tmp / "results"

    def run_main(self, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = eb.main(list(args))
            except SystemExit as e:
                rc = e.code
        return rc, out.getvalue(), err.getvalue()

    def test_help(self):
        rc, out, _ = self.run_main("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--from-logs", out)
        self.assertIn("null HVC", out)

    def test_from_logs_writes_text_and_json(self):
        rc, out, err = self.run_main("--from-logs", str(self.lamina_log), str(self.bare_log), "--out-dir",
                                     str(self.out))
        self.assertEqual(rc, 0, err)
        files = sorted(p.name for p in self.out.iterdir())
        self.assertEqual(len(files), 2, files)
        self.assertRegex(files[0], r"^exits-\d{8}-\d{6}-.+\.json$")
        self.assertEqual(files[0][:-5], files[1][:-4])  # one stamp for both
        text = (self.out / files[1]).read_text()
        self.assertIn(text, out)
        self.assertRegex(text, r"null HVC \(SMCCC_VERSION\) +306 +1 +305")
        data = json.loads((self.out / files[0]).read_text())
        self.assertEqual(data["operations"][0]["lamina_net_mean"], 306.0)

    def test_no_write(self):
        rc, out, _ = self.run_main("--from-logs", str(self.lamina_log), str(self.bare_log), "--out-dir",
                                   str(self.out), "--no-write")
        self.assertEqual(rc, 0)
        self.assertIn("lamina - bare", out)
        self.assertFalse(self.out.exists())

    def test_inconsistent_log_fails_and_prints_it(self):
        self.lamina_log.write_text(edited(LAMINA_LOG, "2M=17", "2M=3"))
        rc, _, err = self.run_main("--from-logs", str(self.lamina_log), str(self.bare_log), "--out-dir",
                                   str(self.out))
        self.assertEqual(rc, 1)
        self.assertIn("mapped 3 2M blocks", err)
        self.assertIn("----- lamina serial log -----", err)
        self.assertIn("GUEST-RESULT: PASS 7 checks", err)
        self.assertFalse(self.out.exists())

    def test_bad_guest_mem_is_a_usage_error(self):
        rc, _, err = self.run_main("--from-logs", str(self.lamina_log), str(self.bare_log), "--guest-mem", "64Q")
        self.assertEqual(rc, 2)
        self.assertIn("64Q", err)

    def _fake(self, fail: str | None = None) -> tuple[list[str], dict[str, str]]:
        launcher = self.tmp / "fake-launcher"
        launcher.write_text(FAKE_LAUNCHER)
        launcher.chmod(0o755)
        image = self.tmp / "lamina.bin"
        guest = self.tmp / "exits.bin"
        image.write_bytes(b"\0")
        guest.write_bytes(b"\0")
        env = {"FAKE_RECORD": str(self.tmp / "argv"), "FAKE_LOG_LAMINA": str(self.lamina_log),
               "FAKE_LOG_BARE": str(self.bare_log)}
        if fail:
            env["FAKE_FAIL"] = fail
        args = ["--launcher", str(launcher), "--image", str(image), "--guest", str(guest), "--out-dir",
                str(self.out), "--log-dir", str(self.tmp / "logs")]
        return args, env

    def run_with_env(self, args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            return self.run_main(*args)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def test_runs_lamina_then_bare(self):
        args, env = self._fake()
        rc, out, err = self.run_with_env(args, env)
        self.assertEqual(rc, 0, err)
        lamina = json.loads((self.tmp / "argv.lamina").read_text())
        bare = json.loads((self.tmp / "argv.bare").read_text())

        def value(argv: list[str], opt: str) -> str:
            return argv[argv.index(opt) + 1]

        self.assertIn("--icount", lamina)
        self.assertEqual(value(lamina, "--append"), "lamina.stats")
        self.assertEqual(value(lamina, "--guest-mem"), "65792K")
        self.assertEqual(value(lamina, "--guest-test-device"), "0x0b000000")
        self.assertEqual(value(lamina, "--cpus"), "1")
        self.assertEqual(value(lamina, "--vcpus"), "1")
        self.assertEqual(value(lamina, "--log"), str(self.tmp / "logs" / "exit-bench-lamina.log"))
        self.assertIn("--icount", bare)
        self.assertIn("--bare", bare)
        self.assertNotIn("--guest-test-device", bare)
        self.assertNotIn("--append", bare)
        self.assertEqual(value(bare, "--guest-mem"), "65792K")
        self.assertEqual(value(bare, "--guest-kernel"), value(lamina, "--guest-kernel"))
        self.assertEqual(len(list(self.out.iterdir())), 2)
        self.assertIn("3.8x over", out)

    def test_failed_run_fails_and_prints_the_launcher_output(self):
        for kind in ("lamina", "bare"):
            with self.subTest(kind=kind):
                args, env = self._fake(fail=kind)
                rc, _, err = self.run_with_env(args, env)
                self.assertEqual(rc, 1)
                self.assertIn("run failed", err)
                self.assertIn("half a log", err)
                self.assertIn(f"FAIL: exit-bench.{kind}", err)
                self.assertFalse(self.out.exists())

    def test_missing_guest_is_a_usage_error(self):
        args, env = self._fake()
        args[args.index("--guest") + 1] = str(self.tmp / "nothing.bin")
        rc, _, err = self.run_with_env(args, env)
        self.assertEqual(rc, 2)
        self.assertIn("make all bench-guest", err)


if __name__ == "__main__":
    unittest.main()
