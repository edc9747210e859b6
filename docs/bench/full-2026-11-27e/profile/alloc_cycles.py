#!/usr/bin/env python3
"""The allocator's cycles against the rest of a W1 round trip, per variant.

    alloc_cycles.py alloc-cycles-665448d.txt [TSC_KHZ]

Input: per boot, a "== <boot> (<variant>)" line (variant c if none), then for each run a
"RUN <mode> BENCH {...}" line (binder_bench's W1 0-byte warm row) followed by
"T <mode> <entry point> <calls> <cycles>" lines (the alloc_timing parameter of
../../full-2026-11-27d/profile/alloc-op-cycles.patch, reset before each run).
Prints the medians over all runs of a variant and mode: round trips per
second, cycles per round trip, the allocator's part of them and the rest;
then, for each mode run by both c and rust, the difference.
"""
import json
import re
import statistics as st
import sys


def main():
    path = sys.argv[1]
    khz = float(sys.argv[2]) if len(sys.argv) > 2 else 2249998.0
    runs = {}
    variant = run = None
    for line in open(path):
        m = re.match(r"== \S+(?: \((\w+)\))?", line)
        if m:
            variant = m.group(1) or "c"
            continue
        m = re.match(r"RUN (\S+) BENCH (.*)", line)
        if m:
            run = {"tput": json.loads(m.group(2))["tput_per_s"], "t": {}}
            runs.setdefault((m.group(1), variant), []).append(run)
            continue
        m = re.match(r"T \S+ (\w+) (\d+) (\d+)", line)
        if m:
            run["t"][m.group(1)] = (int(m.group(2)), int(m.group(3)))
    med = {}
    for (mode, variant), rs in sorted(runs.items()):
        rows = []
        for r in rs:
            rt = khz * 1000 / r["tput"]
            alloc = sum(c for _, c in r["t"].values()) / (r["t"]["new_buf"][0] / 2)
            rows.append((r["tput"], rt, alloc, rt - alloc))
        med[mode, variant] = [st.median(x[i] for x in rows) for i in range(4)]
        t, rt, a, rest = med[mode, variant]
        print(f"{mode:6} {variant:4} runs={len(rows):2} round trips/s {t:6.0f}  cycles: "
              f"round trip {rt / 1e3:4.0f}k, allocator {a / 1e3:5.1f}k, rest {rest / 1e3:4.0f}k")
    for mode in sorted({m for m, _ in med}):
        if (mode, "c") not in med or (mode, "rust") not in med:
            continue
        c, r = med[mode, "c"], med[mode, "rust"]
        print(f"{mode}: rust/c throughput {r[0] / c[0]:.3f}; round trip +{(r[1] - c[1]) / 1e3:.0f}k: "
              f"allocator +{(r[2] - c[2]) / 1e3:.0f}k, rest +{(r[3] - c[3]) / 1e3:.0f}k; "
              f"ratio if only the allocator differed {c[1] / (c[1] + r[2] - c[2]):.3f}")


if __name__ == "__main__":
    main()
