#!/usr/bin/env python3
"""Extract binder_alloc allocator traces from a kernel log.

The binder_alloc_trace KUnit suite (binder_alloc_trace_kunit.c) prints, for
each seed, lines prefixed with "binder_alloc_trace: ":

    # binder_alloc trace v1 seed=<N> buffer_size=<bytes>
    new <id> data=<n> offsets=<n> extra=<n> async=<0|1> pid=<n> -> ok offset=<n> spam=<0|1>
    new <id> data=<n> offsets=<n> extra=<n> async=<0|1> pid=<n> -> err <ERRNAME>
    free <id> -> ok
    state free_async_space=<n> allocated=<n>
    # end seed=<N> ops=<new+free lines> states=<state lines>

This script reads a kernel log (dmesg output or console log, with or without
timestamps) from a file or stdin, checks that every seed's trace is complete
and self-consistent, and writes it, without the prefix, to
<out-dir>/seed-<N>.trace. It exits non-zero if anything is missing or
malformed; in that case no file is written.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, TextIO

PREFIX = "binder_alloc_trace: "

HEADER_RE = re.compile(r"# binder_alloc trace v1 seed=(\d+) buffer_size=(\d+)")
END_RE = re.compile(r"# end seed=(\d+) ops=(\d+) states=(\d+)")
NEW_RE = re.compile(
    r"new (\d+) data=(\d+) offsets=(\d+) extra=(\d+) async=([01]) pid=(\d+)"
    r" -> (?:ok offset=(\d+) spam=([01])|err (E[A-Z0-9]+))"
)
FREE_RE = re.compile(r"free (\d+) -> ok")
STATE_RE = re.compile(r"state free_async_space=(\d+) allocated=(\d+)")

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "fixtures" / "traces"


class TraceError(Exception):
    """A trace is incomplete or malformed."""


@dataclass
class Trace:
    seed: int
    buffer_size: int
    lines: list[str] = field(default_factory=list)
    ops: int = 0
    states: int = 0
    next_id: int = 0
    live: set[int] = field(default_factory=set)
    ok: int = 0
    err: int = 0
    spam: int = 0
    complete: bool = False

    def where(self) -> str:
        return f"seed {self.seed}, trace line {len(self.lines)}"

    def add(self, body: str) -> None:
        """Check one op/state line and append it."""
        self.lines.append(body)
        m = NEW_RE.fullmatch(body)
        if m:
            ident = int(m.group(1))
            if ident != self.next_id:
                raise TraceError(
                    f"{self.where()}: new id {ident}, expected {self.next_id}"
                    " (a line is missing?)"
                )
            self.next_id += 1
            self.ops += 1
            if m.group(7) is not None:
                offset = int(m.group(7))
                if offset >= self.buffer_size:
                    raise TraceError(f"{self.where()}: offset {offset} out of range")
                self.live.add(ident)
                self.ok += 1
                self.spam += int(m.group(8))
            else:
                self.err += 1
            return
        m = FREE_RE.fullmatch(body)
        if m:
            ident = int(m.group(1))
            if ident not in self.live:
                raise TraceError(
                    f"{self.where()}: free of {ident}, which is not live"
                    " (a line is missing?)"
                )
            self.live.remove(ident)
            self.ops += 1
            return
        m = STATE_RE.fullmatch(body)
        if m:
            allocated = int(m.group(2))
            if allocated != len(self.live):
                raise TraceError(
                    f"{self.where()}: state says {allocated} allocated,"
                    f" the trace has {len(self.live)} live buffers"
                )
            self.states += 1
            return
        raise TraceError(f"{self.where()}: malformed line: {body!r}")

    def end(self, seed: int, ops: int, states: int) -> None:
        if seed != self.seed:
            raise TraceError(f"seed {self.seed}: end line for seed {seed}")
        if ops != self.ops or states != self.states:
            raise TraceError(
                f"seed {self.seed}: end line says ops={ops} states={states},"
                f" found ops={self.ops} states={self.states}"
            )
        self.complete = True


def trace_bodies(lines: Iterable[str], prefix: str) -> Iterable[str]:
    """Yield the text after the prefix of each trace line."""
    for raw in lines:
        pos = raw.find(prefix)
        if pos < 0:
            continue
        yield raw[pos + len(prefix):].rstrip("\r\n").rstrip()


def parse(stream: TextIO, prefix: str) -> dict[int, Trace]:
    traces: dict[int, Trace] = {}
    cur: Trace | None = None
    for body in trace_bodies(stream, prefix):
        m = HEADER_RE.fullmatch(body)
        if m:
            if cur is not None:
                raise TraceError(f"seed {cur.seed}: no end line before the next header")
            seed = int(m.group(1))
            if seed in traces:
                raise TraceError(f"seed {seed}: appears twice in the log")
            cur = Trace(seed=seed, buffer_size=int(m.group(2)))
            cur.lines.append(body)
            continue
        if cur is None:
            raise TraceError(f"line outside a trace (lost header?): {body!r}")
        m = END_RE.fullmatch(body)
        if m:
            cur.end(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            cur.lines.append(body)
            traces[cur.seed] = cur
            cur = None
            continue
        cur.add(body)
    if cur is not None:
        raise TraceError(f"seed {cur.seed}: trace has no end line (truncated log?)")
    return traces


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log", nargs="?", help="kernel log file (default: stdin)")
    ap.add_argument("-o", "--out-dir", type=Path, default=DEFAULT_OUT,
                    help=f"output directory (default: {DEFAULT_OUT})")
    ap.add_argument("--prefix", default=PREFIX,
                    help=f"line prefix (default: {PREFIX!r})")
    ap.add_argument("--seeds", default="",
                    help="comma-separated seeds that must all be present")
    ap.add_argument("--min-ops", type=int, default=0,
                    help="fail if the traces hold fewer operations in total")
    ap.add_argument("-n", "--dry-run", action="store_true",
                    help="check only, write nothing")
    args = ap.parse_args(argv)

    try:
        if args.log:
            with open(args.log, encoding="utf-8", errors="replace") as f:
                traces = parse(f, args.prefix)
        else:
            traces = parse(sys.stdin, args.prefix)
        if not traces:
            raise TraceError("no trace found in the log")
        wanted = {int(s) for s in args.seeds.split(",") if s.strip()}
        missing = sorted(wanted - traces.keys())
        if missing:
            raise TraceError(f"missing seeds: {missing}")
        total = sum(t.ops for t in traces.values())
        if total < args.min_ops:
            raise TraceError(f"only {total} operations, expected at least {args.min_ops}")
    except TraceError as e:
        print(f"extract_traces: error: {e}", file=sys.stderr)
        return 1

    if not args.dry_run:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    for seed in sorted(traces):
        t = traces[seed]
        path = args.out_dir / f"seed-{seed}.trace"
        if not args.dry_run:
            path.write_text("\n".join(t.lines) + "\n", encoding="utf-8")
        print(f"seed {seed}: buffer_size={t.buffer_size} ops={t.ops}"
              f" states={t.states} new_ok={t.ok} new_err={t.err} spam={t.spam}"
              f" -> {path}", file=sys.stderr)
    print(f"extract_traces: {len(traces)} traces, "
          f"{sum(t.ops for t in traces.values())} operations", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
