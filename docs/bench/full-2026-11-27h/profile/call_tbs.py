#!/usr/bin/env python3
"""Calls of one kernel function in an exec_fault.py log: vCPU 0's translation
blocks from each entry at FUNC until the next block of one of CALLERS (the
functions FUNC returns to). A call is "clean" if no interrupt (asm_sysvec_*)
and no reschedule (__schedule) ran inside it. Prints the lengths (in TBs) of
the clean calls and, for the median clean call, its blocks by function and
the number of distinct 4 KiB pages of kernel text they lie on.

    ./call_tbs.py LOG VMLINUX FUNC CALLER[,CALLER...]
"""
import bisect
import collections
import re
import subprocess
import sys

log, vmlinux, func, callers = sys.argv[1:5]
syms = []
for line in subprocess.run(["nm", "-n", vmlinux], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) >= 3 and parts[1] in "tTwW":
        syms.append((int(parts[0], 16), parts[2]))
addrs = [a for a, _ in syms]


def sym(pc: int) -> str:
    i = bisect.bisect_right(addrs, pc) - 1
    return syms[i][1] if i >= 0 else "?"


entry = next(a for a, n in syms if n == func)
back = set(callers.split(","))
trace = re.compile(r"^Trace (\d+): \S+ \[[0-9a-f]+/([0-9a-f]+)/")
calls, cur = [], None
with open(log, errors="replace") as f:
    for line in f:
        m = trace.match(line)
        if not m or m.group(1) != "0":
            continue
        pc = int(m.group(2), 16)
        if pc == entry and cur is None:
            cur = [pc]
        elif cur is not None:
            if sym(pc) in back:
                calls.append(cur)
                cur = None
            else:
                cur.append(pc)
disturb = {n for _, n in syms if n.startswith("asm_sysvec_") or n == "__schedule"}
clean = sorted((c for c in calls if not disturb.intersection(sym(pc) for pc in c)), key=len)
print(f"{func}: {len(calls)} calls, {len(clean)} clean")
print("clean, lengths (TBs):", [len(c) for c in clean])
if clean:
    med = clean[len(clean) // 2]
    pages = {pc >> 12 for pc in med}
    print(f"median clean call: {len(med)} TBs, {len(set(med))} distinct, "
          f"on {len(pages)} pages of text")
    for name, n in collections.Counter(sym(pc) for pc in med).most_common():
        print(f"{n:6} {name}")
