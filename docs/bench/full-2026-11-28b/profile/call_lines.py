#!/usr/bin/env python3
"""The median clean call of FUNC in an exec_fault.py log (as call_tbs.py cuts
calls), one line per translation block in execution order: its PC and, for
blocks in functions whose name contains one of FILTERS, the inline chain of
its first instruction (`addr2line -f -i`, innermost first). Needs a VMLINUX
with debug info (CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y); blocks in
other functions are shown by name only.

    ./call_lines.py LOG VMLINUX FUNC CALLER[,CALLER...] [FILTER[,FILTER...]]
"""
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]
                       / "full-2026-11-27h" / "profile"))
from fault_tbs import clean_calls, namer, text_symbols  # noqa: E402

log, vmlinux, func, callers = sys.argv[1:5]
filters = sys.argv[5].split(",") if len(sys.argv) > 5 else []
syms = text_symbols(vmlinux)
sym = namer(syms)
_, clean = clean_calls(log, syms, func, set(callers.split(",")))
if not clean:
    sys.exit(f"{func}: no clean call")
med = clean[len(clean) // 2]
print(f"{func}: median clean call, {len(med)} TBs")
out = subprocess.run(["addr2line", "-f", "-i", "-a", "-e", vmlinux] + [hex(p) for p in med],
                     capture_output=True, text=True, check=True).stdout.splitlines()
chains: list[list[str]] = []
for line in out:
    if line.startswith("0x"):
        chains.append([])
    else:
        chains[-1].append(line)
for pc, chain in zip(med, chains):
    name = sym(pc)
    if not any(f in name for f in filters):
        print(f"  {pc:x} [{name}]")
        continue
    frames = [chain[i + 1].rsplit("/", 1)[-1] for i in range(0, len(chain) - 1, 2)]
    print(f"{pc:x} " + " <- ".join(frames[:4]))
