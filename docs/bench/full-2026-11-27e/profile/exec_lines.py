#!/usr/bin/env python3
"""Which source lines an allocator operation's translation blocks come from.

    exec_lines.py LOG VMLINUX OPERATION [OPS]

LOG is a QEMU exec log written by ../../full-2026-11-27d/profile/exec-pages.sh,
VMLINUX the matching kernel built with debug info (e.g. `pytools build-rust
-K CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y`, which builds into a directory
of its own), OPERATION an entry point (binder_alloc_new_buf, ...). Counts the
TBs of the first OPS (default 3000) operations, so that only the warm rows
count, and prints per operation: the TBs attributed to the innermost line of
the glue or shim each TB was inlined into, then the TB addresses executed
most often, with their inline chain (llvm-addr2line-19 -i).
"""
import collections
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../../full-2026-11-27d/profile"))
from exec_pages import ENTRIES, symbols, tb_pcs  # noqa: E402

GLUE = ("binder_alloc_rust.rs", "binder_alloc_shim.c")


def main():
    log, vmlinux, want = sys.argv[1:4]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
    entries = {a: n for a, n in symbols(vmlinux) if n in ENTRIES}
    pcs = collections.Counter()
    ops = 0
    cur = None
    for pc in tb_pcs(log):
        if pc in entries:
            cur = entries[pc]
            if cur == want:
                ops += 1
                if ops > limit:
                    ops -= 1
                    break
        if cur == want:
            pcs[pc] += 1
    if not ops:
        sys.exit(f"no {want} in {log}")
    addrs = sorted(pcs)
    out = subprocess.run(["llvm-addr2line-19", "-e", vmlinux, "-f", "-i", "-C", "-a"]
                         + [hex(a) for a in addrs], capture_output=True, text=True,
                         check=True).stdout
    frames = {}
    cur_addr = None
    lines = out.splitlines()
    for ln in lines:
        if ln.startswith("0x"):
            cur_addr = int(ln, 16)
            frames[cur_addr] = []
        else:
            frames[cur_addr].append(ln)
    by_glue = collections.Counter()
    chains = {}
    for a in addrs:
        f = frames.get(a, [])
        # (function, file:line), innermost first
        chain = [(f[i], f[i + 1].split("/")[-1]) for i in range(0, len(f) - 1, 2)]
        chains[a] = chain
        key = next((loc for _, loc in chain if loc.startswith(GLUE)),
                   chain[0][1] if chain else "?")
        by_glue[key] += pcs[a]
    print(f"{want}: {ops} operations, {sum(pcs.values()) / ops:.1f} TBs per operation")
    print("TBs per operation by the innermost glue/shim line they were inlined into:")
    for key, c in by_glue.most_common(25):
        print(f"  {c / ops:7.2f}  {key}")
    print("Most executed TBs:")
    for a, c in pcs.most_common(25):
        chain = " <- ".join(f"{fn.split('::')[-1][:40]}@{loc}" for fn, loc in chains[a][:4])
        print(f"  {a:x} {c / ops:6.2f}  {chain}")


if __name__ == "__main__":
    main()
