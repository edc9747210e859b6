#!/usr/bin/env python3
"""Calls of one kernel function in an exec_fault.py log: vCPU 0's translation
blocks from each entry at FUNC until the next block of one of CALLERS (the
functions FUNC returns to). A call is "clean" if no interrupt (asm_sysvec_*)
and no reschedule (__schedule) ran inside it. Prints the lengths (in TBs) of
the clean calls and, for the median clean call, its blocks by function and
the number of distinct 4 KiB pages of kernel text they lie on.

    ./call_tbs.py LOG VMLINUX FUNC CALLER[,CALLER...]
"""
import collections
import sys

from fault_tbs import clean_calls, namer, text_symbols

log, vmlinux, func, callers = sys.argv[1:5]
syms = text_symbols(vmlinux)
sym = namer(syms)
calls, clean = clean_calls(log, syms, func, set(callers.split(",")))
print(f"{func}: {len(calls)} calls, {len(clean)} clean")
print("clean, lengths (TBs):", [len(c) for c in clean])
if clean:
    med = clean[len(clean) // 2]
    pages = {pc >> 12 for pc in med}
    print(f"median clean call: {len(med)} TBs, {len(set(med))} distinct, "
          f"on {len(pages)} pages of text")
    for name, n in collections.Counter(sym(pc) for pc in med).most_common():
        print(f"{n:6} {name}")
