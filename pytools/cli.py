"""The ``pytools`` command line."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from . import settings as settings_mod
from .build import ALLOCATORS, CONFIGS, Builder, BuildRequest
from .errors import PytoolsError
from .runner import RealRunner, Runner
from .toolchain import Setup, doctor, ensure_ready


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", help="cache directory (default ~/.cache/pytools or $PYTOOLS_CACHE)")


def _build_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tree", help="kernel tree to start from (default: Debian's 7.3 source "
                                  "extracted into the cache)")
    p.add_argument("--alloc", default="rust",
                   help=f"binder allocator: {', '.join(ALLOCATORS)} (default rust)")
    p.add_argument("--config", help=f"config: {', '.join(CONFIGS)} (default minimal)")
    p.add_argument("-K", dest="options", action="append", default=[], metavar="CONFIG_FOO=y",
                   help="extra kernel config option (repeatable)")
    p.add_argument("-j", dest="jobs", type=int, default=0, help="make jobs (default: all CPUs)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="pytools", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup", help="install the toolchain and fetch the kernel source")
    _common(p)
    p = sub.add_parser("doctor", help="check every requirement; exit 3 if any is missing")
    _common(p)
    p = sub.add_parser("build-rust", help="build the kernel with the chosen binder allocator")
    _common(p)
    _build_opts(p)
    p = sub.add_parser("run", help="boot the built kernel and run a command in it")
    _common(p)
    _build_opts(p)
    p.add_argument("--timeout", type=float, default=600, help="seconds (default 600)")
    p.add_argument("--cpus", type=int, default=1)
    p.add_argument("--memory", default="1G")
    p.add_argument("--append", action="append", default=[], help="kernel command line item")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    p = sub.add_parser("demo", help="the main job: setup, build, boot, one binder transaction")
    _common(p)
    _build_opts(p)
    p = sub.add_parser("test", help="run every test tier; write JSON")
    _common(p)
    p.add_argument("--tree", help="kernel tree (default: Debian's 7.3 source)")
    p.add_argument("--json", type=Path, help="write results to this JSON file")
    p.add_argument("--alloc", default=None,
                   help="comma-separated allocators for the in-kernel tiers (default: c,rust)")
    p.add_argument("--config", default=None,
                   help="comma-separated configs for the in-kernel tiers (default: minimal; "
                        "add debug for KASAN/lockdep/kmemleak)")
    p.add_argument("--tiers", default=None, help="comma-separated subset of tiers")
    p.add_argument("--boot-timeout", type=float, default=None,
                   help="seconds each boot may take (default 900)")
    p.add_argument("--cpus", type=int, default=None,
                   help="guest vCPUs for the in-kernel tiers (default 2: faults, the shrinker "
                        "and senders really run in parallel)")
    p.add_argument("--kunit-filter", metavar="GLOB",
                   help="run only the KUnit suites/cases matching GLOB (kunit.filter_glob, "
                        "SUITE[.CASE]); only those suites are then expected")
    p.add_argument("--kunit-attr", metavar="FILTER",
                   help="run only the KUnit cases whose attributes match FILTER "
                        "(kunit.filter), e.g. 'speed>slow' to leave out the slow cases")
    p.add_argument("-K", dest="options", action="append", default=[], metavar="CONFIG_FOO=y",
                   help="extra kernel config option for the in-kernel tiers' kernels "
                        "(repeatable), e.g. -K CONFIG_KASAN=n with --config debug")
    p = sub.add_parser("bench", help="benchmark the Rust allocator against the C allocator")
    _common(p)
    p.add_argument("--quick", action="store_true",
                   help="small iteration counts, 1 repeat unless --repeats: a few minutes")
    p.add_argument("--repeats", type=int, default=None,
                   help="boots per variant, interleaved (default 5; 1 with --quick)")
    p.add_argument("--variants", default="c,c-fault,rust,rust-gup",
                   help="comma-separated: c, c-fault, rust, rust-gup (default: all four)")
    p.add_argument("-K", dest="options", action="append", default=[], metavar="CONFIG_FOO=y",
                   help="extra kernel config option for the benchmark's kernels (repeatable); "
                        "replaces a default of the same name")
    p.add_argument("--only", help="workloads, e.g. w1,w5 (default: all)")
    p.add_argument("--out", type=Path, default=None,
                   help="report directory (default docs/bench in the repository)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per boot")
    p.add_argument("--clock", choices=("host", "icount"), default="host",
                   help="the guest's clock: host (the TSC at the host's rate, 2 vCPUs; "
                        "default) or icount (1 ns per guest instruction, 1 vCPU, TCG only: "
                        "no host noise)")
    return top


def _request(args: argparse.Namespace, s: settings_mod.Settings) -> BuildRequest:
    return BuildRequest(alloc=args.alloc, config=args.config or s.config,
                        options=tuple(args.options), jobs=args.jobs)


def main(argv: list[str] | None = None, runner: Runner | None = None) -> int:
    args = parser().parse_args(argv)
    runner = runner or RealRunner()
    try:
        s = settings_mod.load(cache=args.cache, tree=getattr(args, "tree", None),
                              config=getattr(args, "config", None)
                              if args.command != "test" else None)
        return dispatch(args, s, runner)
    except PytoolsError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pytools: interrupted", file=sys.stderr)
        return 130


def dispatch(args: argparse.Namespace, s: settings_mod.Settings, runner: Runner) -> int:
    from .guest import build_guest_programs, demo_command
    from .testing import TestRequest, TestRun, summary, write_json
    from .vm import probe_accel, run_guest

    if args.command == "setup":
        start = time.monotonic()
        Setup(s, runner).run()
        print(f"[setup] finished in {time.monotonic() - start:.0f} s")
        return 0
    if args.command == "doctor":
        return doctor(s, runner)
    if args.command == "build-rust":
        req = _request(args, s)
        req.validate()
        ensure_ready(s, runner)
        Builder(s, runner).build(req)
        return 0
    if args.command == "run":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            raise PytoolsError("no command given", "usage: pytools run [options] -- COMMAND")
        req = _request(args, s)
        req.validate()
        ensure_ready(s, runner)
        result = Builder(s, runner).build(req)
        accel = probe_accel(s, runner, result.image)
        print(f"[run] booting {result.image} ({accel.name}: {accel.reason})", flush=True)
        run = run_guest(s, runner, result.image, " ".join(cmd), accel=accel.name,
                        timeout=args.timeout, cpus=args.cpus, memory=args.memory,
                        append=args.append, echo=True)
        print(f"[run] guest command exited {run.returncode} after {run.seconds:.0f} s "
              f"({run.accel})")
        return run.returncode
    if args.command == "demo":
        start = time.monotonic()
        req = _request(args, s)
        req.validate()
        ensure_ready(s, runner)
        result = Builder(s, runner).build(req)
        guest = build_guest_programs(s, runner)
        accel = probe_accel(s, runner, result.image)
        print(f"[demo] booting the {req.alloc} allocator kernel ({accel.name}: {accel.reason}) "
              "and running one binder transaction", flush=True)
        run = run_guest(s, runner, result.image, demo_command(guest), accel=accel.name,
                        timeout=600, append=["kunit.enable=0"], echo=False)
        for line in guest_output(run.lines):
            print(f"  guest| {line}")
        verdict = "succeeded" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
        print(f"[demo] binder transaction {verdict}; boot+run {run.seconds:.0f} s under "
              f"{run.accel}; total {time.monotonic() - start:.0f} s")
        return 0 if run.returncode == 0 else 1
    if args.command == "test":
        ensure_ready(s, runner)
        test_req = TestRequest(
            allocators=tuple(args.alloc.split(",")) if args.alloc else TestRequest.allocators,
            configs=tuple(args.config.split(",")) if args.config else TestRequest.configs,
            tiers=tuple(args.tiers.split(",")) if args.tiers else TestRequest.tiers,
            json_path=args.json,
            boot_timeout=(args.boot_timeout if args.boot_timeout is not None
                          else TestRequest.boot_timeout),
            cpus=args.cpus if args.cpus is not None else TestRequest.cpus,
            kunit_filter=args.kunit_filter,
            kunit_attr=args.kunit_attr,
            options=tuple(args.options),
        )
        report = TestRun(s, runner).run(test_req)
        if args.json:
            write_json(report, args.json)
            print(f"results written to {args.json}")
        print(summary(report))
        return 0 if report.ok() else 1
    if args.command == "bench":
        return bench_main(args, s, runner)
    raise PytoolsError(f"unknown command {args.command}")


def bench_main(args: argparse.Namespace, s: settings_mod.Settings, runner: Runner) -> int:
    from .bench import Bench, BenchRequest, table, write_outputs

    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise PytoolsError("pytools bench draws its plots with matplotlib, which is missing",
                           "python3 -m pip install -e '.[bench]'") from exc
    ensure_ready(s, runner)
    req = BenchRequest(
        variants=tuple(args.variants.split(",")),
        repeats=args.repeats if args.repeats is not None else (1 if args.quick else 5),
        quick=args.quick,
        only=args.only,
        timeout=args.timeout,
        command_line="pytools " + " ".join(sys.argv[1:]),
        options=tuple(args.options),
        clock=args.clock,
        cpus=1 if args.clock == "icount" else 2,
    )
    if args.out is not None:
        req.out_dir = args.out
    start = time.monotonic()
    report = Bench(s, runner).run(req)
    print(table(report))
    for path in write_outputs(report, req.out_dir):
        print(f"[bench] wrote {path}")
    print(f"[bench] {len(report.boots)} boots in {time.monotonic() - start:.0f} s "
          f"({report.accel})")
    return 0


def guest_output(lines: list[str]) -> list[str]:
    """The command's own output: after the start marker, without kernel console lines."""
    from .vm import RC, START

    out: list[str] = []
    started = False
    for line in lines:
        if line.strip() == START:
            started = True
        elif started and not re.match(r"^\[\s*\d+\.\d+\]", line) and RC not in line:
            out.append(line)
    return out


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
