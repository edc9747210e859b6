#!/usr/bin/env python3
"""W2 rounds (BENCH lines of binder_bench) from FILES: per mode, the median
and range of the throughput, and the rounds split by whether the senders
were preempted at least once every 50 transactions (shared their vCPU with
the receiver for part of the round).

    ./w2_rounds.py FILE...
"""
import json
import re
import statistics
import sys

for path in sys.argv[1:]:
    rounds = [json.loads(m.group(1)) for line in open(path, errors="replace")
              if (m := re.search(r"BENCH (\{.*\})", line)) and '"w2"' in line]
    for mode in ("cold", "warm"):
        rs = [r for r in rounds if r["mode"] == mode]
        if not rs:
            continue
        t = [r["tput_per_s"] for r in rs]
        line = f"{path} {mode}: {len(rs)} rounds, median {statistics.median(t):.0f} [{min(t):.0f}..{max(t):.0f}]"
        for name, sel in (("preempted", lambda r: r["tx_preempts_per_txn"] >= 0.02),
                          ("not", lambda r: r["tx_preempts_per_txn"] < 0.02)):
            ts = [r["tput_per_s"] for r in rs if sel(r)]
            if ts:
                line += f"; {name} {len(ts)}: median {statistics.median(ts):.0f}"
        sl = [r["rx_sleeps_per_txn"] for r in rs]
        line += f"; receiver sleeps/txn median {statistics.median(sl):.3f} [{min(sl):.3f}..{max(sl):.3f}]"
        print(line)
