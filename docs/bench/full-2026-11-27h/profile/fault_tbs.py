#!/usr/bin/env python3
"""Receiver faults in an exec_fault.py log: vCPU 0's translation blocks from
each entry at asm_exc_page_fault to the next user-space block, kept if they
reach the allocator's fault handler (HANDLER, default
rust_binder_alloc_vm_fault). A fault is "clean" if no interrupt
(asm_sysvec_*) and no reschedule (__schedule) ran inside it: the slowed-down
logging makes timer ticks frequent, so many faults are not. Prints the
lengths (in TBs) of clean and other faults, and the shortest clean fault's
blocks by function (`nm -n VMLINUX`).

    ./fault_tbs.py LOG VMLINUX [HANDLER]

Also the log reading that call_tbs.py, ../../full-2026-11-28/profile/fault_fns.py and
../../full-2026-11-28b/profile/call_lines.py share.
"""
import bisect
import collections
import re
import subprocess
import sys
from typing import Callable, Iterator

TRACE = re.compile(r"^Trace (\d+): \S+ \[[0-9a-f]+/([0-9a-f]+)/")


def text_symbols(vmlinux: str) -> list[tuple[int, str]]:
    """The text symbols of VMLINUX (`nm -n`), by address."""
    syms = []
    for line in subprocess.run(["nm", "-n", vmlinux], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
    return syms


def namer(syms: list[tuple[int, str]]) -> Callable[[int], str]:
    """The name of the symbol a PC lies in."""
    addrs = [a for a, _ in syms]

    def sym(pc: int) -> str:
        i = bisect.bisect_right(addrs, pc) - 1
        return syms[i][1] if i >= 0 else "?"
    return sym


def vcpu0_pcs(log: str) -> Iterator[int]:
    """The PC of each block vCPU 0 ran, in order."""
    with open(log, errors="replace") as f:
        for line in f:
            m = TRACE.match(line)
            if m and m.group(1) == "0":
                yield int(m.group(2), 16)


def allocator_faults(log: str, syms: list[tuple[int, str]],
                     handler_name: str) -> list[list[int]]:
    """vCPU 0's page faults in LOG that reach HANDLER_NAME, in log order: each the PCs of its
    blocks, from asm_exc_page_fault to the next user-space block (excluded)."""
    entry = next(a for a, n in syms if n == "asm_exc_page_fault")
    handler = next(a for a, n in syms if n == handler_name)
    faults, cur = [], None
    for pc in vcpu0_pcs(log):
        if pc == entry:
            if cur is not None:
                faults.append(cur)
            cur = [pc]
        elif cur is not None:
            if pc < 0x800000000000:
                faults.append(cur)
                cur = None
            else:
                cur.append(pc)
    return [f for f in faults if handler in f]


def clean_calls(log: str, syms: list[tuple[int, str]], func: str,
                callers: set[str]) -> tuple[list[list[int]], list[list[int]]]:
    """vCPU 0's calls of FUNC in LOG: each the PCs of its blocks, from an entry at FUNC
    until the next block of one of CALLERS (the functions FUNC returns to). Returns all
    calls in log order and the clean ones (no interrupt, no reschedule), shortest first."""
    sym = namer(syms)
    entry = next(a for a, n in syms if n == func)
    calls, cur = [], None
    for pc in vcpu0_pcs(log):
        if pc == entry and cur is None:
            cur = [pc]
        elif cur is not None:
            if sym(pc) in callers:
                calls.append(cur)
                cur = None
            else:
                cur.append(pc)
    disturb = {n for _, n in syms if n.startswith("asm_sysvec_") or n == "__schedule"}
    clean = sorted((c for c in calls if not disturb.intersection(sym(pc) for pc in c)), key=len)
    return calls, clean


def main() -> None:
    log, vmlinux = sys.argv[1:3]
    handler_name = sys.argv[3] if len(sys.argv) > 3 else "rust_binder_alloc_vm_fault"
    syms = text_symbols(vmlinux)
    sym = namer(syms)
    disturb = {a for a, n in syms if n.startswith("asm_sysvec_") or n == "__schedule"}
    binder = sorted(allocator_faults(log, syms, handler_name), key=len)
    clean = [f for f in binder if not disturb.intersection(f)]
    print("receiver faults:", len(binder))
    print("clean, lengths (TBs):", [len(f) for f in clean])
    print("with an interrupt or a reschedule:", [len(f) for f in binder if f not in clean])
    if clean:
        shortest = clean[0]
        print(f"shortest clean fault: {len(shortest)} TBs")
        for name, n in collections.Counter(sym(pc) for pc in shortest).most_common():
            print(f"{n:6} {name}")


if __name__ == "__main__":
    main()
