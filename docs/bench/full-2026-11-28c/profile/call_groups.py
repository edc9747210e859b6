#!/usr/bin/env python3
"""Calls of one kernel function in an exec_fault.py log (cut as call_tbs.py
cuts them), in consecutive groups of N calls (e.g. W2's cold round, then its
warm round): per group, the lengths of the clean calls (no interrupt, no
reschedule) in translation blocks.

    ./call_groups.py LOG VMLINUX FUNC CALLER[,CALLER...] N
"""
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]
                       / "full-2026-11-27h" / "profile"))
from fault_tbs import clean_calls, text_symbols  # noqa: E402

log, vmlinux, func, callers, n = sys.argv[1:6]
size = int(n)
syms = text_symbols(vmlinux)
calls, clean = clean_calls(log, syms, func, set(callers.split(",")))
# clean_calls() decides which calls are clean; its list holds the same call objects.
clean_ids = {id(c) for c in clean}
print(f"{func}: {len(calls)} calls")
for g in range(0, len(calls), size):
    group = calls[g:g + size]
    lens = sorted(len(c) for c in group if id(c) in clean_ids)
    if not lens:
        print(f"  calls {g}..{g + len(group) - 1}: none clean")
        continue
    print(f"  calls {g}..{g + len(group) - 1}: {len(lens)} clean, median "
          f"{statistics.median(lens)}, min {lens[0]}, max {lens[-1]}")
