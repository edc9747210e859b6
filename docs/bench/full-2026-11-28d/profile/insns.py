#!/usr/bin/env python3
"""insns.py LOG VMLINUX N: guest instructions (and blocks) per function in an
exec log, divided by N (the round trips the log holds)."""
import collections
import sys

from disasm import Text, pcs

log, vmlinux, n = sys.argv[1], sys.argv[2], float(sys.argv[3])
text = Text(vmlinux)
runs = collections.Counter(pcs(log))
insns: collections.Counter[str] = collections.Counter()
blocks: collections.Counter[str] = collections.Counter()
for pc, c in runs.items():
    name = text.sym(pc)
    insns[name] += text.block(pc)[0] * c
    blocks[name] += c
print(f"# total instructions {sum(insns.values()) / n:.1f} per round trip, "
      f"blocks {sum(blocks.values()) / n:.1f}")
for name, v in insns.most_common():
    print(f"{v / n:10.1f} {blocks[name] / n:9.1f} {name}")
