#!/usr/bin/env python3
"""Translation blocks per function in the receiver's faults of exec logs, side by side.

    ./fault_fns.py NAME:LOG:VMLINUX:HANDLER [NAME:LOG:VMLINUX:HANDLER ...]

LOG: an exec_fault.py log (../../full-2026-11-27h/profile/); HANDLER: the
allocator's fault handler in that kernel (binder_alloc_vm_fault for C with
faults, rust_binder_alloc_vm_fault for Rust). Faults are cut as fault_tbs.py
cuts them; those of 8000 blocks or more (a reschedule to another task and
back) are left out. Prints, per image, the faults kept and the median of
their lengths; per function, the median over the faults of its blocks (the
timer interrupts that land in some faults mostly drop out of the median);
then, per fault, its length, its blocks in folio_add_file_rmap_ptes (12 per
page mapped), in __switch_to and in timer interrupt entries.
"""
import collections
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "full-2026-11-27h" / "profile"))
from fault_tbs import allocator_faults, namer, text_symbols  # noqa: E402


def faults(log: str, vmlinux: str, handler_name: str) -> list[collections.Counter[str]]:
    syms = text_symbols(vmlinux)
    sym = namer(syms)
    return [collections.Counter(sym(pc) for pc in f)
            for f in allocator_faults(log, syms, handler_name) if len(f) < 8000]


per_image = {}
for spec in sys.argv[1:]:
    name, log, vmlinux, handler = spec.split(":")
    per_image[name] = faults(log, vmlinux, handler)
medians = {}
for name, counts in per_image.items():
    fns = set().union(*counts)
    medians[name] = {f: statistics.median(c.get(f, 0) for c in counts) for f in fns}
    print(name, "faults", len(counts), "median length",
          statistics.median(sum(c.values()) for c in counts))
names = list(medians)
fns = sorted(set().union(*medians.values()),
             key=lambda f: -max(medians[n].get(f, 0) for n in names))
for f in fns:
    v = [medians[n].get(f, 0) for n in names]
    if max(v) >= 2:
        print(f"{f:45}", " ".join(f"{x:7.1f}" for x in v))
print()
for name, counts in per_image.items():
    for c in counts:
        print(name, sum(c.values()), "rmap", c.get("folio_add_file_rmap_ptes", 0),
              "switch", c.get("__switch_to", 0),
              "sysvec", sum(v for k, v in c.items() if k.startswith("asm_sysvec")))
