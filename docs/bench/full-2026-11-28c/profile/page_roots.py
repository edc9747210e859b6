#!/usr/bin/env python3
"""Who allocated the pages in an exec_fault.py log: each vCPU 0 entry into
prep_new_page, attributed to the nearest earlier block whose function name
matches ROOTS (a regular expression; default: the binder allocators, the
slab, the page cache, COW, page tables, fork and mmap).

    ./page_roots.py LOG VMLINUX [ROOTS]
"""
import collections
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]
                       / "full-2026-11-27h" / "profile"))
from fault_tbs import namer, text_symbols, vcpu0_pcs  # noqa: E402

ROOTS = (r"binder|^_R|do_anonymous|wp_page|pte_alloc|pgd_alloc|copy_process|dup_mmap|"
         r"allocate_slab|slab|filemap|exit_mmap|mmap|pipe|\(user\)")
log, vmlinux = sys.argv[1:3]
roots = re.compile(sys.argv[3] if len(sys.argv) > 3 else ROOTS)
syms = text_symbols(vmlinux)
sym = namer(syms)
entry = next(a for a, n in syms if n == "prep_new_page")
recent: collections.deque[int] = collections.deque(maxlen=3000)
found: collections.Counter[str] = collections.Counter()
for pc in vcpu0_pcs(log):
    if pc == entry:
        who = "?"
        for p in reversed(recent):
            s = sym(p) if p >= 0xffffffff00000000 else "(user)"
            if roots.search(s):
                who = s
                break
        found[who] += 1
    recent.append(pc)
print(f"pages allocated on vCPU 0: {sum(found.values())}")
for who, k in found.most_common():
    print(f"{k:6} {who[:120]}")
