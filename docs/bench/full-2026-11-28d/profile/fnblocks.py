#!/usr/bin/env python3
"""fnblocks.py LOG VMLINUX FUNC N: FUNC's blocks: offset, runs per N,
instructions per run, instructions per N."""
import collections
import sys

from disasm import Text, pcs

log, vmlinux, func, n = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
text = Text(vmlinux)
start = text.addr_of(func)
end = next(a for a, _ in text.syms if a > start)
runs = collections.Counter(pc for pc in pcs(log) if start <= pc < end)
total = 0
for pc in sorted(runs):
    k = text.block(pc)[0]
    total += k * runs[pc]
    print(f"+{pc - start:#6x} {runs[pc] / n:8.2f} x {k:3d} = {k * runs[pc] / n:8.1f}")
print(f"total {total / n:.1f}")
