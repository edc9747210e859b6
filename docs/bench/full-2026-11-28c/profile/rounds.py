#!/usr/bin/env python3
"""vCPU 0's translation blocks in an exec_fault.py log, cut into phases at
vCPU 0's entries number K1, K2, ... into MARK (e.g. binder_alloc_new_buf's
1st, 201st and 401st entries: W2's cold and warm rounds of 200 transactions),
then per phase: blocks, timer interrupts, __schedule entries, and the
functions whose block counts differ most between two logs.

    ./rounds.py LOG_A VMLINUX_A LOG_B VMLINUX_B MARK K1,K2,...
"""
import collections
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]
                       / "full-2026-11-27h" / "profile"))
from fault_tbs import namer, text_symbols, vcpu0_pcs  # noqa: E402


def phases(log: str, vmlinux: str, mark: str, ks: list[int]) -> list[collections.Counter]:
    syms = text_symbols(vmlinux)
    sym = namer(syms)
    entry = next(a for a, n in syms if n == mark)
    by_pc = [collections.Counter() for _ in range(len(ks) + 1)]
    phase = seen = 0
    for pc in vcpu0_pcs(log):
        if pc == entry:
            seen += 1
            if phase < len(ks) and seen == ks[phase]:
                phase += 1
        by_pc[phase][pc] += 1
    out = []
    for c in by_pc:
        h = collections.Counter()
        for pc, n in c.items():
            h[sym(pc) if pc >= 0xffffffff00000000 else "(user)"] += n
        out.append(h)
    return out


log_a, vml_a, log_b, vml_b, mark, ks = sys.argv[1:7]
ks_list = [int(k) for k in ks.split(",")]
a, b = phases(log_a, vml_a, mark, ks_list), phases(log_b, vml_b, mark, ks_list)
for i, (ha, hb) in enumerate(zip(a, b)):
    print(f"phase {i}: blocks {sum(ha.values())} / {sum(hb.values())}, timer interrupts "
          f"{ha['asm_sysvec_apic_timer_interrupt']} / {hb['asm_sysvec_apic_timer_interrupt']}, "
          f"__schedule {ha['__schedule']} / {hb['__schedule']}")
    diff = sorted(set(ha) | set(hb), key=lambda n: hb[n] - ha[n])
    for n in diff[-15:][::-1]:
        print(f"   {hb[n] - ha[n]:+9} {ha[n]:9} {hb[n]:9} {n[:100]}")
