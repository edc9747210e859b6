"""``pytools test``: every tier, one table, one JSON file.

Tiers: ``cargo`` (workspace tests, loom models), ``lint`` (clippy, rustfmt),
``pytest`` (pytools' unit tests, the hypothesis tests of the core), ``kunit``
(in-kernel suites) and ``e2e`` (binder programs in the guest). The in-kernel
tiers run for each requested allocator and config; one boot serves both: the
KUnit suites run at boot, then the guest programs.

A suite that was expected but did not run is an ``error`` row, never a pass.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import math
import re
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import ktap, overlay
from .build import ALLOCATORS, CONFIGS, Builder, BuildRequest, BuildResult, read_config
from .errors import PytoolsError
from .guest import (GuestProgram, build_guest_programs, build_kselftests, e2e_program,
                    guest_script, kmemleak_program, kselftest_program, split_output)
from .runner import Runner
from .settings import REPO, Settings
from .vm import probe_accel, run_guest

TIERS = ("cargo", "lint", "pytest", "kunit", "kselftest", "e2e")
IN_KERNEL_TIERS = ("kunit", "kselftest", "e2e")
# KUnit suites every boot must run; a missing one is an error, never a pass.
# rust_doctests_kernel holds the doctests of the kernel crate, the project's
# abstractions included (CONFIG_RUST_KERNEL_DOCTESTS in minimal.config).
DOCTEST_SUITE = "rust_doctests_kernel"
BASE_KUNIT = ("binder_alloc", DOCTEST_SUITE)
# Suites that exist once a patch of the glue series wires their file in.
KUNIT_BY_PATCH = {
    "0010-rust-page_ref": "rust_page_ref",
    "0012-rust-shrinker": "rust_shrinker",
    "0013-rust-list_lru": "rust_list_lru",
    "0014-rust-mm-add-read-only-remote-page-lookup": "rust_mm_fault_gup",
    "0025-binder-alloc-KUnit-test-the-buffers": "binder_alloc_fault",
}


def has_kmemleak(result: BuildResult) -> bool:
    """Whether the kernel that was built has CONFIG_DEBUG_KMEMLEAK."""
    return read_config(result.build_dir / ".config").get("CONFIG_DEBUG_KMEMLEAK") == "y"


def expected_kunit(alloc: str, kunit_filter: str | None = None) -> tuple[str, ...]:
    """The KUnit suites a boot of ``alloc`` must report.

    With ``kunit_filter`` (the kernel's ``kunit.filter_glob``, ``SUITE[.CASE]``),
    only the suites it selects are expected.
    """
    names = [p.name for p in overlay.read_series()]
    extra = [suite for prefix, suite in KUNIT_BY_PATCH.items()
             if any(name.startswith(prefix) for name in names)]
    suites = BASE_KUNIT + tuple(extra)
    if kunit_filter:
        suite_glob = kunit_filter.split(".", 1)[0]
        suites = tuple(s for s in suites if fnmatch.fnmatchcase(s, suite_glob))
    return suites


# An opening doctest fence in a doc comment, with its info string.
DOC_FENCE = re.compile(r"^\s*//[/!]\s?```(.*)$")
# Info-string words after which rustdoc builds no runnable test.
NOT_RUN = {"ignore", "no_run", "compile_fail", "text"}


def expected_doctests(root: Path = REPO / "rust" / "kernel") -> dict[str, int]:
    """How many doctests each of the project's kernel crate files has.

    Keyed by the KUnit case stem that ``scripts/rustdoc_test_gen.rs`` gives a
    file's doctests (``mm/gup.rs`` -> ``rust_doctest_kernel_mm_gup_rs``, cases
    ``..._0``, ``..._1``, ...). Files without doctests are left out.
    """
    counts: dict[str, int] = {}
    for path in sorted(root.rglob("*.rs")):
        inside = False
        count = 0
        for line in path.read_text().splitlines():
            fence = DOC_FENCE.match(line)
            if not fence:
                continue
            if inside:
                inside = False
                continue
            inside = True
            words = {w.strip() for w in fence.group(1).split(",") if w.strip()}
            if not words & NOT_RUN and words <= {"rust", "edition2021", "edition2024"}:
                count += 1
        if count:
            rel = path.relative_to(root).as_posix()
            stem = rel.replace("/", "_").replace(".", "_")
            counts[f"rust_doctest_kernel_{stem}"] = count
    return counts


def missing_doctests(cases: list[str], expected: dict[str, int]) -> list[str]:
    """The files whose doctests did not all run, as ``stem: ran N of M`` lines."""
    problems = []
    for stem, want in expected.items():
        ran = sum(1 for c in cases if re.fullmatch(re.escape(stem) + r"_\d+", c))
        if ran != want:
            problems.append(f"{stem}: ran {ran} of {want}")
    return problems


CARGO_CASE = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)\b")
CARGO_RUNNING = re.compile(r"^\s+Running (?:unittests )?(\S+)(?: \((\S+)\))?")
CARGO_DOC = re.compile(r"^\s+Doc-tests (\S+)")


@dataclass(frozen=True)
class Row:
    tier: str
    suite: str
    case: str
    allocator: str
    config: str
    status: str
    detail: str = ""


@dataclass
class TestRequest:
    allocators: tuple[str, ...] = ALLOCATORS
    # The debug config (KASAN, lockdep, kmemleak) is opt-in: under TCG the
    # upstream exhaustive KUnit case alone takes longer on it than CI's limit.
    configs: tuple[str, ...] = ("minimal",)
    tiers: tuple[str, ...] = TIERS
    json_path: Path | None = None
    boot_timeout: float = 900.0
    cpus: int = 2
    # kunit.filter_glob for development runs; None runs every suite.
    kunit_filter: str | None = None
    # kunit.filter (test attributes), e.g. "speed>slow" leaves out the cases
    # marked slow, the upstream exhaustive case among them.
    kunit_attr: str | None = None
    # Extra kernel config options (-K) for every in-kernel boot's build, e.g.
    # CONFIG_KASAN=n on the debug config; the report lists them.
    options: tuple[str, ...] = ()

    def kunit_params(self) -> dict[str, str]:
        """The KUnit filter parameters for the kernel command line."""
        params = {}
        if self.kunit_filter:
            params["kunit.filter_glob"] = self.kunit_filter
        if self.kunit_attr:
            params["kunit.filter"] = self.kunit_attr
        return params

    def kunit_timeout(self) -> int:
        """KUnit's base per-case timeout (``kunit.timeout``, seconds) for the boots.

        KUnit's default is 300 s, three times that for cases marked slow. Under
        TCG the upstream exhaustive case takes longer than 900 s on the debug
        config (hours), and on a loaded machine it can come near it on the
        minimal one, so KUnit would stop it and report a timeout although it
        runs. The guest's own timeout (``boot_timeout``) is the bound that
        matters; no KUnit case times out before it. (A timed-out case is not
        abandoned anyway: kthread_stop() waits for the case thread to return.)
        """
        return max(300, math.ceil(self.boot_timeout))


@dataclass
class TestReport:
    accel: str = "tcg"
    accel_reason: str = ""
    results: list[Row] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # Designed divergences the guest programs announce ("# divergence: ...").
    divergences: list[str] = field(default_factory=list)
    # KUnit filters the boots ran with (kernel parameter -> value): a
    # filtered run must say what it left out.
    kunit_filters: dict[str, str] = field(default_factory=dict)
    # Extra config options (-K) the in-kernel tiers' kernels were built with.
    options: list[str] = field(default_factory=list)

    def allocator_divergences(self) -> list[str]:
        """Cases whose status differs between allocators (same tier and config)."""
        by_case: dict[tuple[str, str, str, str], dict[str, str]] = {}
        for row in self.results:
            if row.allocator in ("-", ""):
                continue
            key = (row.tier, row.suite, row.case, row.config)
            by_case.setdefault(key, {})[row.allocator] = row.status
        out = []
        for (tier, suite, case, config), statuses in by_case.items():
            if len(set(statuses.values())) > 1:
                shown = ", ".join(f"{a}={s}" for a, s in sorted(statuses.items()))
                out.append(f"{tier} {config} {suite}.{case}: {shown}")
        return out

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
        for row in self.results:
            out[row.status] += 1
        return out

    def ok(self) -> bool:
        counts = self.counts()
        return counts["fail"] == 0 and counts["error"] == 0 and counts["pass"] > 0

    def to_json(self) -> dict[str, object]:
        return {
            "accel": self.accel,
            "accel_reason": self.accel_reason,
            "timings_seconds": {k: round(v, 1) for k, v in self.timings.items()},
            "kunit_filters": self.kunit_filters,
            "config_options": self.options,
            "designed_divergences": self.divergences,
            "allocator_divergences": self.allocator_divergences(),
            "results": [asdict(row) for row in self.results],
        }


def parse_cargo(lines: list[str]) -> list[tuple[str, str, str]]:
    """(suite, case, status) rows from ``cargo test`` output."""
    rows = []
    suite = "cargo"
    for line in lines:
        running = CARGO_RUNNING.match(line)
        doc = CARGO_DOC.match(line)
        if running:
            target = running.group(2) or running.group(1)
            suite = Path(target).name.rsplit("-", 1)[0]
        elif doc:
            suite = f"doctest:{doc.group(1)}"
        case = CARGO_CASE.match(line)
        if case:
            status = {"ok": "pass", "FAILED": "fail", "ignored": "skip"}[case.group(2)]
            rows.append((suite, case.group(1), status))
    return rows


def parse_junit(path: Path) -> list[tuple[str, str, str, str]]:
    """(suite, case, status, detail) rows from a pytest JUnit XML file."""
    rows = []
    for case in ET.parse(path).getroot().iter("testcase"):
        suite = case.get("classname", "pytest")
        name = case.get("name", "?")
        status, detail = "pass", ""
        for child in case:
            if child.tag in ("failure",):
                status, detail = "fail", (child.get("message") or "")[:200]
            elif child.tag == "error":
                status, detail = "error", (child.get("message") or "")[:200]
            elif child.tag == "skipped":
                status, detail = "skip", (child.get("message") or "")[:200]
        rows.append((suite, name, status, detail))
    return rows


class TestRun:
    def __init__(self, settings: Settings, runner: Runner,
                 say: Callable[[str], None] = print) -> None:
        self.s = settings
        self.runner = runner
        self.say = say
        self.report = TestReport()

    def add(self, *args: str) -> None:
        self.report.results.append(Row(*args))

    def timed(self, name: str, fn: Callable[[], None]) -> None:
        start = time.monotonic()
        self.say(f"==> {name}")
        try:
            fn()
        finally:
            self.report.timings[name] = time.monotonic() - start

    # userspace tiers -----------------------------------------------------

    def cargo(self) -> None:
        done = self.runner.run(["cargo", "test", "--workspace", "-j2", "--no-fail-fast"],
                               cwd=REPO, sink=self.say)
        rows = parse_cargo(done.lines)
        for suite, case, status in rows:
            self.add("cargo", suite, case, "-", "-", status)
        if done.returncode != 0 and not any(r[2] == "fail" for r in rows):
            self.add("cargo", "cargo", "cargo test", "-", "-", "error",
                     f"cargo test exited {done.returncode} without a failing case "
                     "(build error?)")
        if not rows:
            self.add("cargo", "cargo", "cargo test", "-", "-", "error", "no test ran")

    def lint(self) -> None:
        for case, argv in (
            ("clippy", ["cargo", "clippy", "--workspace", "--all-targets", "-j2", "--",
                        "-D", "warnings"]),
            ("rustfmt", ["cargo", "fmt", "--all", "--check"]),
            ("mypy-strict", [sys.executable, "-m", "mypy"]),
        ):
            done = self.runner.run(argv, cwd=REPO, sink=self.say)
            status = "pass" if done.returncode == 0 else "fail"
            detail = "" if status == "pass" else "\n".join(done.lines[-5:])
            self.add("lint", "python" if case.startswith("mypy") else "rust", case, "-", "-",
                     status, detail)

    def pytest(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            xml = Path(tmp) / "junit.xml"
            done = self.runner.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                    f"--junitxml={xml}", "pytools/tests", "tests/python"],
                                   cwd=REPO, sink=self.say)
            if not xml.exists():
                self.add("pytest", "pytest", "pytest", "-", "-", "error",
                         f"pytest exited {done.returncode} without a report")
                return
            rows = parse_junit(xml)
        for suite, case, status, detail in rows:
            self.add("pytest", suite, case, "-", "-", status, detail)
        if not rows:
            self.add("pytest", "pytest", "pytest", "-", "-", "error", "no test ran")

    # in-kernel tiers -----------------------------------------------------

    def kernel(self, req: TestRequest, alloc: str, config: str) -> None:
        """One boot of ``alloc``/``config``: KUnit at boot, then the guest programs."""
        in_kernel = [t for t in IN_KERNEL_TIERS if t in req.tiers]

        def error_rows(suite: str, message: str) -> None:
            for tier in in_kernel:
                self.add(tier, suite, f"{alloc}-{config}", alloc, config, "error", message)

        builder = Builder(self.s, self.runner, say=self.say)
        programs: list[GuestProgram] = []
        try:
            result = builder.build(BuildRequest(alloc=alloc, config=config,
                                                options=req.options))
            if "e2e" in req.tiers:
                programs.append(e2e_program(build_guest_programs(self.s, self.runner), alloc))
            if "kselftest" in req.tiers:
                programs.append(kselftest_program(build_kselftests(self.s, self.runner, result)))
            # A kernel built with kmemleak ends its boot with a scan, KUnit-only
            # boots included: the KUnit cases allocate too, and the debug config
            # has no automatic scan (DEBUG_KMEMLEAK_AUTO_SCAN is off).
            if has_kmemleak(result):
                programs.append(kmemleak_program())
        except PytoolsError as exc:
            error_rows("build", " ".join(str(exc).split()))
            self.say(exc.render())
            return
        append = [] if "kunit" in req.tiers else ["kunit.enable=0"]
        if "kunit" in req.tiers:
            append += [f"{param}={value}" for param, value in req.kunit_params().items()]
            append.append(f"kunit.timeout={req.kunit_timeout()}")
        try:
            run = run_guest(self.s, self.runner, result.image, guest_script(programs),
                            accel=self.report.accel, timeout=req.boot_timeout, append=append,
                            cpus=req.cpus)
        except PytoolsError as exc:
            error_rows("boot", " ".join(str(exc).split())[:500])
            self.say(exc.render())
            return
        self.say(f"[guest] {alloc}-{config}: exit {run.returncode} after {run.seconds:.0f} s "
                 f"({run.accel})")
        kernel_lines, own = split_output(run.lines, programs)
        tree = result.work_tree
        if "kunit" in req.tiers:
            rows = ktap.parse(tree, kernel_lines)
            seen = {r.suite for r in rows}
            for row in rows:
                self.add("kunit", row.suite, row.case, alloc, config, row.status, row.detail)
            expected = expected_kunit(alloc, req.kunit_filter)
            for suite in expected:
                if suite not in seen:
                    self.add("kunit", suite, "<suite>", alloc, config, "error",
                             "expected suite did not run")
            whole_suites = not req.kunit_filter or "." not in req.kunit_filter
            if DOCTEST_SUITE in expected and DOCTEST_SUITE in seen and whole_suites:
                # The project's doctests are part of the suite: every one must have run.
                cases = [r.case for r in rows if r.suite == DOCTEST_SUITE]
                for problem in missing_doctests(cases, expected_doctests()):
                    self.add("kunit", DOCTEST_SUITE, problem.split(":", 1)[0], alloc, config,
                             "error", f"project doctests missing from the suite ({problem})")
        for prog in programs:
            for line in own[prog.tier]:
                if "# divergence:" in line:
                    note = line.split("# divergence:", 1)[1].strip()
                    self.report.divergences.append(f"{alloc}-{config}: {note}")
            rows = ktap.parse(tree, own[prog.tier], flat_suite=prog.suite)
            for row in rows:
                self.add(prog.tier, row.suite, row.case, alloc, config, row.status, row.detail)
            if not rows:
                self.add(prog.tier, prog.suite, "<suite>", alloc, config, "error",
                         "no KTAP output from the guest program")
        if run.returncode != 0 and not any(
                r.status in ("fail", "error") for r in self.report.results
                if r.allocator == alloc and r.config == config and r.tier in in_kernel):
            self.add("kernel", "guest", "<exit status>", alloc, config, "error",
                     f"guest programs exited {run.returncode} with no failing case")
        reports = run.kernel_reports()
        self.add("kernel", "kernel_log", "no_kernel_reports", alloc, config,
                 "fail" if reports else "pass", "\n".join(reports[:5]))

    def run(self, req: TestRequest) -> TestReport:
        for tier in req.tiers:
            if tier not in TIERS:
                raise PytoolsError(f"unknown tier {tier!r}", f"choose from {', '.join(TIERS)}")
        for alloc in req.allocators:
            if alloc not in ALLOCATORS:
                raise PytoolsError(f"unknown allocator {alloc!r}",
                                   f"choose from {', '.join(ALLOCATORS)}")
        for config in req.configs:
            if config not in CONFIGS:
                raise PytoolsError(f"unknown config {config!r}",
                                   f"choose from {', '.join(CONFIGS)}")
        accel = probe_accel(self.s, self.runner)
        self.report.accel, self.report.accel_reason = accel.name, accel.reason
        self.say(f"accelerator: {accel.name} ({accel.reason})")
        self.report.kunit_filters = req.kunit_params()
        self.report.options = list(req.options)
        if "cargo" in req.tiers:
            self.timed("cargo", self.cargo)
        if "lint" in req.tiers:
            self.timed("lint", self.lint)
        if "pytest" in req.tiers:
            self.timed("pytest", self.pytest)
        if any(t in req.tiers for t in IN_KERNEL_TIERS):
            for config in req.configs:
                for alloc in req.allocators:
                    self.timed(f"kernel {alloc}-{config}",
                               functools.partial(self.kernel, req, alloc, config))
        return self.report


def summary(report: TestReport) -> str:
    """A table grouped by tier/allocator/config, failures listed, closing count line."""
    groups: dict[tuple[str, str, str], dict[str, int]] = {}
    for row in report.results:
        key = (row.tier, row.allocator, row.config)
        groups.setdefault(key, {"pass": 0, "fail": 0, "skip": 0, "error": 0})
        groups[key][row.status] += 1
    out = [f"{'tier':<8} {'alloc':<6} {'config':<8} {'pass':>5} {'fail':>5} {'skip':>5} "
           f"{'error':>5}"]
    for (tier, alloc, config), c in groups.items():
        out.append(f"{tier:<8} {alloc:<6} {config:<8} {c['pass']:>5} {c['fail']:>5} "
                   f"{c['skip']:>5} {c['error']:>5}")
    bad = [r for r in report.results if r.status in ("fail", "error")]
    for row in bad:
        out.append(f"{row.status.upper()}: {row.tier} {row.allocator}-{row.config} "
                   f"{row.suite}.{row.case}: {row.detail.splitlines()[0] if row.detail else ''}")
    for note in report.divergences:
        out.append(f"DIVERGENCE (designed, asserted per allocator): {note}")
    for note in report.allocator_divergences():
        out.append(f"DIVERGENCE (C and Rust differ): {note}")
    timings = ", ".join(f"{k} {v:.0f}s" for k, v in report.timings.items())
    out.append(f"accelerator: {report.accel}; timings: {timings}")
    for param, value in report.kunit_filters.items():
        out.append(f"KUnit filtered: {param}={value} (cases it leaves out did not run)")
    if report.options:
        out.append(f"kernels built with: {' '.join(report.options)}")
    c = report.counts()
    out.append(f"pytools: {c['pass']} passed, {c['fail'] + c['error']} failed, "
               f"{c['skip']} skipped")
    return "\n".join(out)


def write_json(report: TestReport, path: Path) -> None:
    path.write_text(json.dumps(report.to_json(), indent=1) + "\n")
