#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Generate reference traces from the C 7.3 range allocator compiled in userspace.

Extracts the bookkeeping functions of drivers/android/binder_alloc.c verbatim, compiles
them with the kernel's own tools/lib/rbtree.c and the shims in shim.h, and writes
traces in the "binder_alloc trace v1" format to ../data/cref/. These are a userspace
cross-check of the Rust port; the authoritative traces are recorded in the kernel
(tests/fixtures/traces/).

Usage: gen_traces.py [KERNEL_TREE]   (default /root/.cache/pytools/src/linux-source-7.3)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

FUNCS = [
    "binder_buffer_next",
    "binder_buffer_prev",
    "binder_alloc_buffer_size",
    "binder_insert_free_buffer",
    "binder_insert_allocated_buffer_locked",
    "debug_no_space_locked",
    "debug_low_async_space_locked",
    "binder_alloc_new_buf_locked",
    "sanitized_size",
    "buffer_start_page",
    "prev_buffer_end_page",
    "binder_delete_free_buffer",
    "binder_free_buf_locked",
]

# (seed, buffer_size, ops)
RUNS = [(s, size, 3000) for s, size in enumerate([4096, 8192, 16384, 65536, 131072, 1 << 20, 4 << 20])]
RUNS += [(100 + s, 16384, 6000) for s in range(6)]


def extract(src: str, name: str) -> str:
    lines = src.splitlines()
    start = None
    for i, line in enumerate(lines):
        if re.match(r"^\S.*\b" + re.escape(name) + r"\(", line) and not line.rstrip().endswith(";"):
            start = i
            break
    if start is None:
        raise SystemExit(f"{name}: not found")
    # Include a return-type line just above ("static struct page *\nname(").
    if start > 0 and lines[start - 1].strip() and not lines[start - 1].startswith(("}", "/", " *", "#")):
        start -= 1
    end = next(j for j in range(start, len(lines)) if lines[j] == "}")
    return "\n".join(lines[start : end + 1]) + "\n"


def main() -> None:
    tree = Path(sys.argv[1] if len(sys.argv) > 1 else "/root/.cache/pytools/src/linux-source-7.3")
    here = Path(__file__).resolve().parent
    out = here.parent / "data" / "cref"
    out.mkdir(parents=True, exist_ok=True)
    src = (tree / "drivers/android/binder_alloc.c").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "extracted.c").write_text("".join(extract(src, f) for f in FUNCS))
        exe = t / "driver"
        subprocess.run(
            ["gcc", "-O1", "-w", "-I", str(t), "-I", str(here), "-I", str(tree / "tools/include"),
             "-o", str(exe), str(here / "driver.c"), str(tree / "tools/lib/rbtree.c")],
            check=True,
        )
        for seed, size, ops in RUNS:
            text = subprocess.run([str(exe), str(seed), str(size), str(ops)], check=True,
                                  capture_output=True, text=True).stdout
            (out / f"cref-{seed}-{size}.trace").write_text(text)
            print(f"cref-{seed}-{size}.trace: {text.count(chr(10))} lines")


if __name__ == "__main__":
    main()
