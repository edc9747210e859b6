#!/usr/bin/env python3
"""Medians over the boots of a prof.py output, per W1 row, and their ratios.

    ./w1_medians.py OUT BASE,OTHER[,THIRD]

OUT: lines "NAME ROUND BENCH {json}" (../../full-2026-11-27h/profile/prof.py).
Prints, for throughput, p50, p99 and the receiver's first read, a markdown
table of each image's median and the ratios of every other image to the
first, and of the third to the second.
"""
import collections
import json
import statistics
import sys

samples = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, _round, tag, rest = line.split(" ", 3)
    if tag == "BENCH":
        j = json.loads(rest)
        samples[(j["payload"], j["mode"], name)].append(j)
names = sys.argv[2].split(",")
rows = sorted({(p, m) for p, m, _ in samples}, key=lambda r: (r[0], r[1] != "warm"))
for metric in ("tput_per_s", "p50_us", "p99_us", "rx_first_read_us"):
    ratios = [f"{n}/{names[0]}" for n in names[1:]]
    if len(names) > 2:
        ratios.append(f"{names[2]}/{names[1]}")
    print(f"\n{metric}, medians of {len(samples[(rows[0][0], rows[0][1], names[0])])} boots\n")
    print("| row | " + " | ".join(names + ratios) + " |")
    print("|---" * (1 + len(names) + len(ratios)) + "|")
    for p, m in rows:
        med = [statistics.median(j[metric] for j in samples[(p, m, n)]) for n in names]
        pairs = [(x, med[0]) for x in med[1:]] + ([(med[2], med[1])] if len(names) > 2 else [])
        cells = [f"{x:.1f}" for x in med] + [f"{a / b:.3f}" if b else "-" for a, b in pairs]
        print(f"| {p} B {m} | " + " | ".join(cells) + " |")
