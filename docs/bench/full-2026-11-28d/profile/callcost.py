#!/usr/bin/env python3
"""callcost.py LOG VMLINUX FUNC...: instructions per call of each FUNC, callees
and interrupts included, from its first block to the block at its return
address (the end of the block that called it); median, mean and minimum over
the calls. With PROF=1, where the first FUNC's calls spend them, per call."""
import collections
import os
import statistics
import sys

from disasm import Text, pcs

log, vmlinux, funcs = sys.argv[1], sys.argv[2], sys.argv[3:]
text = Text(vmlinux)
entries = {text.addr_of(f): f for f in funcs}
prof: collections.Counter[str] = collections.Counter()
active: list[list] = []          # [func, return address, instructions]
res: dict[str, list[int]] = {f: [] for f in funcs}
prev = None
for pc in pcs(log):
    if active:
        still = []
        for a in active:
            (res[a[0]].append(a[2]) if pc == a[1] else still.append(a))
        active = still
    if pc in entries and prev is not None:
        active.append([entries[pc], text.block(prev)[1], 0])
    n = text.block(pc)[0]
    for a in active:
        a[2] += n
        if os.environ.get("PROF") and a[0] == funcs[0]:
            prof[text.sym(pc)] += n
    prev = pc
for f in funcs:
    v = res[f]
    print(f"{f}: calls {len(v)} median {statistics.median(v):.0f} mean "
          f"{statistics.mean(v):.0f} min {min(v)}" if v else f"{f}: no calls")
if prof:
    calls = len(res[funcs[0]]) or 1
    for name, v in prof.most_common(40):
        print(f"{v / calls:8.1f} {name}")
