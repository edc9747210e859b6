#!/usr/bin/env python3
"""Per-call times of binder.c's allocator calls, from prof.py's output with alloc-timers.patch.

    prof_parse.py OUT

For each image and boot, the dumps of prof-rows.sh's W1 4 KiB and 64 KiB runs (one dump per
released binder_proc) are reduced to the two largest (at least 300 calls): the warm row's
server, then the cold row's. Prints, per row, the median over boots of the mean time of one call
of each allocator function (with min and max over boots), and the rows' own throughput, p50 and
first-read medians.
"""
import json
import statistics as st
import sys
from collections import defaultdict

NAMES = ["new_buf", "copy_user_to_buffer", "free_buf", "prepare_to_free"]
PAYLOAD = {1: 4096, 2: 65536}     # prof-rows.sh's K0 -> the row's payload
rows = defaultdict(list)          # (variant, payload, mode) -> per-boot {call: us}
bench = defaultdict(list)         # (variant, payload, mode) -> the rows' BENCH records
dumps = defaultdict(list)         # (variant, boot, K0) -> the BP dumps after that run
k = 0
with open(sys.argv[1]) as f:
    for line in f:
        v, b, rest = line.split(" ", 2)
        if rest.startswith("BENCH {"):
            d = json.loads(rest[6:])
            bench[(v, d["payload"], d["mode"])].append(d)
        elif rest.startswith("RUN dump"):
            k = int(rest.split()[2])
        elif rest.startswith("TAIL BP "):
            dumps[(v, b, k)].append([tuple(map(int, p.split("/"))) for p in rest.split()[2:]])
for (v, b, k), ds in dumps.items():
    big = [d for d in ds if d[0][1] >= 300]
    if len(big) < 2:
        print("short", v, b, k, file=sys.stderr)
        continue
    for mode, d in zip(("warm", "cold"), big[-2:]):
        rows[(v, PAYLOAD[k], mode)].append({n: d[i][0] / d[i][1] / 1000
                                            for i, n in enumerate(NAMES)})
for payload in PAYLOAD.values():
    for mode in ("warm", "cold"):
        print(f"\n{payload} {mode}: per call, us, median of boots [min-max]")
        for n in NAMES:
            line = f"  {n:22}"
            m = {}
            for v in ("c", "rust"):
                xs = [r[n] for r in rows[(v, payload, mode)]]
                m[v] = st.median(xs)
                line += f" {v}: {m[v]:6.1f} [{min(xs):5.1f}-{max(xs):5.1f}] n={len(xs)}"
            line += f"  rust-c {m['rust'] - m['c']:+.1f}"
            print(line)
        for key in ("tput_per_s", "p50_us", "rx_first_read_us"):
            m = {v: st.median([d[key] for d in bench[(v, payload, mode)]]) for v in ("c", "rust")}
            ratio = m["rust"] / m["c"] if m["c"] else 0
            print(f"  {key:22} c {m['c']:8.1f} rust {m['rust']:8.1f} ratio {ratio:.3f}")
