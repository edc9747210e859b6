"""``pytools bench``: the Rust allocator against the C allocator, side by side.

Every variant boots the same way (same QEMU settings, accelerator, vCPUs,
memory and root filesystem) and runs ``tests/guest/binder_bench``; the
variants are interleaved (C, C with faults, Rust, Rust with the GUP-copy
strategy, then again) and each is repeated. The report gives, per metric,
the median and the spread (min..max) of the repeats and the ratio of each
variant's median to C's, measured in the same invocation.

Variants:

* ``c``: the C allocator of 7.3;
* ``c-fault``: the same kernel booted with ``binder_linux.alloc_c_fault=1``
  (glue patch 0027): the C allocator, but its new pages are mapped by the
  receiver's fault, as the Rust allocator's are. A control: what the design
  costs with C's own data structures, apart from the Rust implementation;
* ``rust``: the Rust allocator, default strategy (copies through the page
  slots, pages mapped by ``->fault()``);
* ``rust-gup``: the same kernel with ``alloc_gup_copy=1``, the 2023
  proposal's copies through the receiver's VMA.

The kernels are the ``minimal`` config built for speed
(``CC_OPTIMIZE_FOR_PERFORMANCE``, ``-O2``, the Kconfig default and what
distribution and Android kernels use) rather than tinyconfig's ``-Os``: at
``-Os`` rustc does not inline the kernel crate's one-line accessors into the
allocator, which makes the comparison one of optimisation levels as much as
of allocators. They build in their own directories, apart from the test
kernels.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .build import Builder, BuildRequest, BuildResult, normalise_option
from .errors import PytoolsError
from .guest import build_guest_programs
from .runner import Runner
from .settings import REPO, Settings
from .vm import probe_accel, run_guest

VARIANTS = ("c", "c-fault", "rust", "rust-gup")
ALLOC_OF = {"c": "c", "c-fault": "c", "rust": "rust", "rust-gup": "rust"}
# Kernel options of the benchmark's builds, for every allocator, then per
# allocator (see the module documentation). -K options given to the bench
# override these by name.
BUILD_OPTIONS = ("CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y", "CONFIG_CC_OPTIMIZE_FOR_SIZE=n")
ALLOC_OPTIONS = {"c": ("CONFIG_ANDROID_BINDER_ALLOC_C_FAULT=y",), "rust": ()}
# Extra kernel command line, per variant.
APPEND = {"c-fault": ("binder_linux.alloc_c_fault=1",)}
# Shell run before the benchmark in the guest, per variant. The parameter's
# module name depends on how binder is built, so it is found by glob, and
# the run fails if it is not there (no silent fallback to the default).
SETUP = {
    "c": "true",
    "c-fault": ("p=$(ls /sys/module/*/parameters/alloc_c_fault) && "
                "echo \"# alloc_c_fault=$(cat $p)\" && grep -q Y $p"),
    "rust": "true",
    "rust-gup": ("p=$(ls /sys/module/*/parameters/alloc_gup_copy) && echo 1 > $p && "
                 "echo \"# alloc_gup_copy=$(cat $p)\" && grep -q Y $p"),
}
# The minimal config has no HPET or ACPI PM timer, so under TCG the guest
# cannot calibrate its TSC and falls back to the jiffies clocksource (4 ms
# resolution: useless for latencies). Under TCG the guest's TSC runs at the
# host's rate, so the benchmark passes the host's TSC frequency and checks in
# the guest that the clocksource really is the TSC.
CLOCK_CHECK = ("cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource) && "
               "echo \"# clocksource: $cs\" && [ \"$cs\" = tsc ]")
# The guest's clock. "host": the TSC runs at the host's rate (CLOCK_CHECK
# above), so times are wall times of the emulation, with the host's noise in
# them (5 to 10% a row between full runs here). "icount": QEMU counts guest
# instructions and the guest's clock advances 1 ns per instruction executed
# (the TSC at 1 GHz), skipping idle time to the next timer: every time is
# then a count of the guest's instructions, the same from boot to boot, with
# no host load, translation or softmmu cost in it. icount runs the vCPUs
# round-robin on one host thread, each CPU's clock counting the others'
# instructions; W4's reclaimer then did not run once in 4000 transactions,
# so icount boots one vCPU.
CLOCKS = ("host", "icount")
ICOUNT_QEMU_OPTS = ("-icount shift=0,sleep=off",)
ICOUNT_TSC_KHZ = 1_000_000
BENCH_LINE = re.compile(r"^BENCH (\{.*\})\s*$")
KEY_FIELDS = ("w", "payload", "mode", "senders", "clients", "procs")
# Metric -> True when higher is better (throughput); False when lower is;
# None for context without a goal.
METRICS: dict[str, bool | None] = {
    "tput_per_s": True,
    "p50_us": False,
    "p99_us": False,
    "max_us": False,
    "failed": False,
    "rx_faults_per_txn": False,
    # The receiver's first read of each buffer (W1, W4): where its fault
    # lands, if it takes one. Context for the round trip, no goal.
    "rx_first_read_us": None,
    # W2: how the senders and the receiver shared the vCPUs (the receiver's
    # sleeps waiting for work, the senders' preemptions, per transaction).
    # Context: a flood whose receiver keeps up sleeps often; a sender that
    # shares its vCPU with the receiver is preempted by it.
    "rx_sleeps_per_txn": None,
    "tx_preempts_per_txn": None,
    "rss_kb": False,
    "rss_after_reclaim_kb": False,
    "slab_per_proc_kb": False,
    "mem_per_proc_kb": False,
    # W4's reclaimer: how much reclaim each variant's run got (passes of its
    # loop per transaction, the time one shrinker scan and one drop_caches
    # took, its CPU time per transaction). Not goals: they show whether the
    # variants ran under the same pressure.
    "reclaim_passes_per_txn": None,
    "scan_us": None,
    "drop_caches_us": None,
    "reclaimer_cpu_us_per_txn": None,
}


@dataclass
class BenchRequest:
    variants: tuple[str, ...] = VARIANTS
    repeats: int = 5
    quick: bool = False
    only: str | None = None
    out_dir: Path = REPO / "docs" / "bench"
    cpus: int = 2
    memory: str = "2G"
    timeout: float = 3600.0
    command_line: str = "pytools bench"
    options: tuple[str, ...] = ()
    clock: str = "host"


def allocators(variants: tuple[str, ...]) -> list[str]:
    """The allocators whose kernels VARIANTS boot, each once, sorted."""
    return sorted({ALLOC_OF[v] for v in variants})


def build_options(alloc: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The -K options of the benchmark's kernel for ALLOC: the defaults, then EXTRA, a later
    option replacing an earlier one of the same name."""
    merged: dict[str, str] = {}
    for option in BUILD_OPTIONS + ALLOC_OPTIONS[alloc] + tuple(extra):
        norm = normalise_option(option)
        merged[norm.split("=", 1)[0]] = norm
    return tuple(merged.values())


@dataclass
class BenchReport:
    accel: str
    accel_reason: str
    request: BenchRequest
    toolchain: dict[str, object]
    samples: list[dict[str, object]] = field(default_factory=list)
    boots: list[dict[str, object]] = field(default_factory=list)

    def keys(self) -> list[tuple[object, ...]]:
        seen: list[tuple[object, ...]] = []
        for s in self.samples:
            k = measurement_key(s)
            if k not in seen:
                seen.append(k)
        return seen

    def values(self, key: tuple[object, ...], variant: str, metric: str) -> list[float]:
        out = []
        for s in self.samples:
            if s["variant"] == variant and measurement_key(s) == key and metric in s:
                v = s[metric]
                if isinstance(v, (int, float)):
                    out.append(float(v))
        return out

    def aggregate(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for key in self.keys():
            for metric in METRICS:
                base = self.values(key, "c", metric)
                if not any(self.values(key, v, metric) for v in self.request.variants):
                    continue
                row: dict[str, object] = {"key": key_name(key), "metric": metric}
                for v in self.request.variants:
                    vals = self.values(key, v, metric)
                    if not vals:
                        continue
                    med = statistics.median(vals)
                    row[v] = {"median": med, "min": min(vals), "max": max(vals), "n": len(vals)}
                    if v != "c" and base:
                        b = statistics.median(base)
                        row[f"{v}/c"] = (med / b) if b else None
                rows.append(row)
        return rows


def measurement_key(sample: dict[str, object]) -> tuple[object, ...]:
    return tuple(sample.get(f) for f in KEY_FIELDS)


def key_name(key: tuple[object, ...]) -> str:
    parts = []
    for name, value in zip(KEY_FIELDS, key):
        if value is None:
            continue
        if name == "w":
            parts.append(str(value))
        elif name == "payload" and isinstance(value, int):
            parts.append(human_size(value))
        else:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def human_size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10}KiB"
    return f"{n}B"


def host_tsc_khz(cpuinfo: Path = Path("/proc/cpuinfo")) -> int:
    """The host's TSC frequency in kHz (constant and known: tsc_known_freq)."""
    text = cpuinfo.read_text()
    if not re.search(r"^flags\s*:.*\bconstant_tsc\b", text, re.M):
        raise PytoolsError("the host TSC is not constant: guest latencies cannot be timed",
                           "run the benchmark on a host whose CPU has constant_tsc")
    m = re.search(r"^cpu MHz\s*:\s*([0-9.]+)", text, re.M)
    if not m:
        raise PytoolsError("cannot read the host's TSC frequency from /proc/cpuinfo")
    return round(float(m.group(1)) * 1000)


def parse_bench(lines: list[str]) -> list[dict[str, object]]:
    out = []
    for line in lines:
        m = BENCH_LINE.match(line.strip())
        if m:
            try:
                out.append(json.loads(m.group(1)))
            except json.JSONDecodeError as exc:
                raise PytoolsError(f"unparsable benchmark line: {line!r}: {exc}") from exc
    return out


def goal_verdict(metric: str, ratio: float | None) -> str:
    """The issue's goals: throughput >= 1.0, latency and footprint <= 1.0."""
    if ratio is None:
        return "n/a"
    if METRICS[metric] is None:
        return "context"
    if METRICS[metric]:
        return "met" if ratio >= 1.0 else f"missed by {(1 - ratio) * 100:.0f}%"
    return "met" if ratio <= 1.0 else f"missed by {(ratio - 1) * 100:.0f}%"


class Bench:
    def __init__(self, settings: Settings, runner: Runner,
                 say: Callable[[str], None] = print) -> None:
        self.s = settings
        self.runner = runner
        self.say = say

    def run(self, req: BenchRequest) -> BenchReport:
        for v in req.variants:
            if v not in VARIANTS:
                raise PytoolsError(f"unknown variant {v!r}", f"choose from {', '.join(VARIANTS)}")
        if req.repeats < 1:
            raise PytoolsError("--repeats must be at least 1")
        if req.clock not in CLOCKS:
            raise PytoolsError(f"unknown clock {req.clock!r}", f"choose from {', '.join(CLOCKS)}")
        if req.clock == "icount" and req.cpus != 1:
            raise PytoolsError(f"--clock icount boots one vCPU, {req.cpus} asked for",
                               "with more, TCG runs them round-robin and each CPU's clock "
                               "counts the others' instructions")
        builder = Builder(self.s, self.runner, say=self.say)
        images: dict[str, BuildResult] = {}
        for alloc in allocators(req.variants):
            images[alloc] = builder.build(BuildRequest(
                alloc=alloc, config="minimal", options=build_options(alloc, req.options)))
        guest = build_guest_programs(self.s, self.runner)
        accel = probe_accel(self.s, self.runner, next(iter(images.values())).image)
        self.say(f"[bench] accelerator: {accel.name} ({accel.reason}); clock: {req.clock}")
        if req.clock == "icount" and accel.name != "tcg":
            raise PytoolsError("--clock icount needs TCG (QEMU counts instructions only when "
                               f"it emulates them), and {accel.name} was found to work",
                               "use the default --clock host")
        first = next(iter(images.values()))
        report = BenchReport(accel.name, accel.reason, req,
                             dict(first.metadata.get("toolchain", {})))  # type: ignore[call-overload]
        icount = req.clock == "icount"
        khz = ICOUNT_TSC_KHZ if icount else host_tsc_khz()
        qemu_opts = list(ICOUNT_QEMU_OPTS) if icount else []
        base_append = ["kunit.enable=0", f"tsc_early_khz={khz}", "tsc=reliable"]
        argv = [str(guest / "binder_bench")] + (["--quick"] if req.quick else [])
        if req.only:
            argv += ["--only", req.only]
        for rep in range(req.repeats):
            for v in req.variants:
                image = images[ALLOC_OF[v]].image
                cmd = f"{CLOCK_CHECK} && {SETUP[v]} && {' '.join(argv)}"
                self.say(f"[bench] repeat {rep + 1}/{req.repeats}: {v}")
                start = time.monotonic()
                run = run_guest(self.s, self.runner, image, cmd, accel=accel.name,
                                timeout=req.timeout, cpus=req.cpus, memory=req.memory,
                                append=base_append + list(APPEND.get(v, ())),
                                qemu_opts=qemu_opts)
                samples = parse_bench(run.lines)
                reports = run.kernel_reports()
                report.boots.append({"variant": v, "repeat": rep, "exit": run.returncode,
                                     "seconds": round(time.monotonic() - start, 1),
                                     "samples": len(samples), "kernel_reports": reports[:5]})
                if run.returncode != 0 or not samples or reports:
                    tail = "\n".join(run.lines[-20:])
                    raise PytoolsError(f"benchmark run {v} #{rep + 1} failed (exit "
                                       f"{run.returncode}, {len(samples)} results, "
                                       f"{len(reports)} kernel reports):\n{tail}")
                for sample in samples:
                    sample["variant"] = v
                    sample["repeat"] = rep
                    report.samples.append(sample)
        return report


def table(report: BenchReport) -> str:
    variants = report.request.variants
    head = f"{'measurement':<28} {'metric':<20}" + "".join(f" {v:>18}" for v in variants)
    head += "".join(f" {v + '/c':>12}" for v in variants if v != "c")
    out = [head]
    for row in report.aggregate():
        line = f"{str(row['key']):<28} {str(row['metric']):<20}"
        for v in variants:
            cell = row.get(v)
            if isinstance(cell, dict):
                line += f" {cell['median']:>9.1f} [{cell['min']:.0f}..{cell['max']:.0f}]"[:19].rjust(19)
            else:
                line += f" {'-':>18}"
        for v in variants:
            if v == "c":
                continue
            ratio = row.get(f"{v}/c")
            line += f" {ratio:>12.3f}" if isinstance(ratio, float) else f" {'-':>12}"
        out.append(line)
    return "\n".join(out)


def write_outputs(report: BenchReport, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    data = {
        "command": report.request.command_line,
        "accel": report.accel,
        "accel_reason": report.accel_reason,
        "config": "minimal",
        "options": {a: list(build_options(a, report.request.options))
                    for a in allocators(report.request.variants)},
        "toolchain": report.toolchain,
        "repeats": report.request.repeats,
        "quick": report.request.quick,
        "vcpus": report.request.cpus,
        "clock": report.request.clock,
        "memory": report.request.memory,
        "boots": report.boots,
        "aggregate": report.aggregate(),
        "samples": report.samples,
    }
    path = out_dir / "bench.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    written.append(path)
    path = out_dir / "README.md"
    path.write_text(markdown(report))
    written.append(path)
    written += plots(report, out_dir)
    return written


def num(x: float) -> str:
    """A cell's number: one decimal from 1 up, three significant digits below (a rate
    per transaction such as 0.004 would otherwise read 0.0)."""
    return f"{x:.1f}" if abs(x) >= 1 or x == 0 else f"{x:.3g}"


def markdown(report: BenchReport) -> str:
    req = report.request
    tc = report.toolchain
    options = "; ".join(f"{a}: " + ", ".join(f"`{o}`" for o in build_options(a, req.options))
                        for a in allocators(req.variants))
    lines = [
        "# Benchmark: Rust allocator vs C allocator",
        "",
        f"Produced by `{req.command_line}` (`pytools bench`), "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        f"* Accelerator: **{report.accel.upper()}** ({report.accel_reason}). Under TCG every "
        "instruction is emulated: absolute times are far from hardware; only the ratios "
        "measured in this run mean anything, and even those weigh CPU work more than a real "
        "machine would.",
        f"* Kernel: Linux 7.3.4 (Debian linux-source-7.3), `minimal` config with {options}; "
        f"toolchain: rustc {tc.get('rustc', '?')}, bindgen {tc.get('bindgen', '?')}, "
        f"{tc.get('clang', '?')}.",
        f"* Guest: {req.cpus} vCPU{'s' if req.cpus != 1 else ''}, {req.memory}, identical QEMU "
        f"settings and root filesystem for every variant; variants interleaved ({', '.join(req.variants)}, "
        f"{req.variants[0]}, ...), "
        f"{req.repeats} repeats{' (quick mode)' if req.quick else ''}. Guest clocksource: "
        + ("the TSC at 1 GHz of instructions (below; `tsc_early_khz`, checked in the guest)."
           if req.clock == "icount" else
           "the TSC at the host's rate (`tsc_early_khz`, checked in the guest); the minimal "
           "config's fallback, jiffies, has 4 ms resolution."),
        ("* Clock: **icount** (QEMU `" + " ".join(ICOUNT_QEMU_OPTS) + "`): the guest's clock "
         "advances 1 ns per guest instruction executed, so every time and rate here counts "
         "the guest's instructions, the same from boot to boot: no host load, translation or "
         "softmmu cost is in it. Every instruction weighs the same (one iteration of "
         "`rep movsb`, one byte, counts as one instruction, so copies weigh more than on "
         "hardware) and idle time skips to the next timer. One vCPU: icount runs vCPUs "
         "round-robin, each CPU's clock counting the others' instructions."
         if req.clock == "icount" else
         "* Clock: **host**: times are wall times of the emulation, with the host's noise "
         "in them."),
        "* Cells: median [min..max] over the repeats. Ratio: the variant's median over C's."
        + (" `c-fault` is a control, C with the receiver's fault mapping the pages "
           "(`binder_linux.alloc_c_fault=1`): c-fault/c is what that design costs with C's "
           "own code, rust/c-fault what the Rust implementation adds." if "c-fault" in
           req.variants else ""),
        "* Goals (issue 7): throughput ratio >= 1.0; latency, failures and footprint <= 1.0. "
        "Rows marked context have no goal: the receiver's first read of a buffer, "
        "W2's sleeps and preemptions, W4's reclaim pressure.",
        "",
        "| measurement | metric | " + " | ".join(req.variants) + " | "
        + " | ".join(f"{v}/c" for v in req.variants if v != "c") + " | goal (rust/c) |",
        "|" + "---|" * (3 + len(req.variants) + len(req.variants) - 1),
    ]
    for row in report.aggregate():
        cells = []
        for v in req.variants:
            cell = row.get(v)
            cells.append(f"{num(cell['median'])} [{num(cell['min'])}..{num(cell['max'])}]"
                         if isinstance(cell, dict) else "-")
        ratios = []
        for v in req.variants:
            if v == "c":
                continue
            r = row.get(f"{v}/c")
            ratios.append(f"{r:.3f}" if isinstance(r, float) else "-")
        rr = row.get("rust/c")
        verdict = goal_verdict(str(row["metric"]), rr if isinstance(rr, float) else None)
        lines.append(f"| {row['key']} | {row['metric']} | " + " | ".join(cells) + " | "
                     + " | ".join(ratios) + f" | {verdict} |")
    lines += ["", "Raw samples, per boot, are in `bench.json`; plots: `latency.png`, "
              "`throughput.png`.", ""]
    return "\n".join(lines)


def plots(report: BenchReport, out_dir: Path) -> list[Path]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PytoolsError("matplotlib is not installed",
                           "pip install -e '.[bench]'") from exc
    written = []
    w1 = [k for k in report.keys() if k[0] == "w1"]
    payloads = sorted({k[1] for k in w1 if isinstance(k[1], int)})
    for name, metrics, ylabel in (("latency", ("p50_us", "p99_us"), "latency (us)"),
                                  ("throughput", ("tput_per_s",), "round trips / s")):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
        for ax, mode in zip(axes, ("warm", "cold")):
            for v in report.request.variants:
                for metric in metrics:
                    ys = []
                    for p in payloads:
                        vals = report.values(("w1", p, mode, None, None, None), v, metric)
                        ys.append(statistics.median(vals) if vals else float("nan"))
                    ax.plot([human_size(p) for p in payloads], ys, marker="o",
                            label=f"{v} {metric}")
            ax.set_title(f"W1 sync round trip, {mode}")
            ax.set_xlabel("payload")
            ax.set_ylabel(ylabel)
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        fig.suptitle(f"{report.accel.upper()}, {report.request.repeats} repeats, medians")
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written
