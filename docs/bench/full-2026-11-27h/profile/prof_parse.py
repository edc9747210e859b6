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
rows = defaultdict(list)   # (v, row, mode) -> list of per-boot dicts
bench = defaultdict(list)
names = ["new_buf", "copy_user_to_buffer", "free_buf", "prepare_to_free"]
cur = defaultdict(list)
for line in open(sys.argv[1]):
    v, b, rest = line.split(" ", 2)
    if rest.startswith("BENCH {"):
        d = json.loads(rest[6:])
        bench[(v, d["payload"], d["mode"])].append(d)
    elif rest.startswith("TAIL BP "):
        parts = rest.split()[2:]
        vals = [tuple(map(int, p.split("/"))) for p in parts]
        cur[(v, b, k)].append(vals)
    elif rest.startswith("RUN dump"):
        k = int(rest.split()[2])
for (v, b, k), ds in cur.items():
        dumps = [d for d in ds if d[0][1] >= 300]
        if len(dumps) < 2:
            print("short", v, b, k, file=sys.stderr); continue
        for mode, d in zip(("warm", "cold"), dumps[-2:]):
            rows[(v, {1: 4096, 2: 65536}[k], mode)].append({n: d[i][0] / d[i][1] / 1000 for i, n in enumerate(names)})
def med(xs): return st.median(xs)
for payload in (4096, 65536):
    for mode in ("warm", "cold"):
        print(f"\n{payload} {mode}: per call, us, median of boots [min-max]")
        for n in names:
            line = f"  {n:22}"
            m = {}
            for v in ("c", "rust"):
                xs = [r[n] for r in rows[(v, payload, mode)]]
                m[v] = med(xs)
                line += f" {v}: {med(xs):6.1f} [{min(xs):5.1f}-{max(xs):5.1f}] n={len(xs)}"
            line += f"  rust-c {m['rust']-m['c']:+.1f}"
            print(line)
        for key in ("tput_per_s", "p50_us", "rx_first_read_us"):
            m = {v: med([d[key] for d in bench[(v, payload, mode)]]) for v in ("c", "rust")}
            print(f"  {key:22} c {m['c']:8.1f} rust {m['rust']:8.1f} ratio {m['rust']/m['c'] if m['c'] else 0:.3f}")
