#!/usr/bin/env python3
"""difffn.py A.ins B.ins [N]: the N functions (default 50) whose instructions
per round trip differ most between two insns.py outputs: A, B, B-A."""
import sys


def load(path: str) -> dict[str, float]:
    d = {}
    for line in open(path):
        if not line.startswith("#"):
            a = line.split()
            d[a[2]] = float(a[0])
    return d


a, b = load(sys.argv[1]), load(sys.argv[2])
rows = sorted(set(a) | set(b), key=lambda k: -abs(b.get(k, 0) - a.get(k, 0)))
for k in rows[:int(sys.argv[3]) if len(sys.argv) > 3 else 50]:
    print(f"{a.get(k, 0):10.1f} {b.get(k, 0):10.1f} {b.get(k, 0) - a.get(k, 0):+9.1f} {k}")
