#!/usr/bin/env python3
"""Calls of one kernel function in an exec_fault.py log that are too long to
be clean (call_tbs.py keeps only calls without an interrupt): for the calls of
at least MINLEN translation blocks, the median over the calls of each
function's blocks. A timer tick lands in some calls and not others, so the
per-function medians keep the call's own work and drop most of the ticks'.

    ./long_calls.py LOG VMLINUX FUNC CALLER[,CALLER...] MINLEN
"""
import collections
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]
                       / "full-2026-11-27h" / "profile"))
from fault_tbs import clean_calls, namer, text_symbols  # noqa: E402

log, vmlinux, func, callers, minlen = sys.argv[1:6]
syms = text_symbols(vmlinux)
sym = namer(syms)
calls, _ = clean_calls(log, syms, func, set(callers.split(",")))
long_calls = [c for c in calls if len(c) >= int(minlen)]
print(f"{func}: {len(calls)} calls, {len(long_calls)} of at least {minlen} TBs")
print("lengths:", sorted(len(c) for c in long_calls))
hists = [collections.Counter(sym(pc) for pc in c) for c in long_calls]
names = set().union(*hists) if hists else set()
rows = sorted(((statistics.median(h[n] for h in hists), n) for n in names), reverse=True)
print("median blocks per call, by function:")
for m, n in rows:
    if m:
        print(f"{m:9} {n}")
