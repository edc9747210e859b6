#!/usr/bin/env python3
"""Per allocator operation: distinct code pages and translation blocks executed.

Input: a QEMU `-d exec,nochain -dfilter ...` log and the matching vmlinux. An
operation starts at the TB of its entry point (binder_alloc_new_buf, ...) and
runs until the next entry point's TB; only TBs inside the logged ranges count.
"""
import bisect
import collections
import re
import subprocess
import sys

ENTRIES = ("binder_alloc_new_buf", "binder_alloc_prepare_to_free", "binder_alloc_free_buf",
           "binder_alloc_copy_user_to_buffer", "binder_alloc_copy_to_buffer",
           "binder_alloc_copy_from_buffer")


def symbols(vmlinux):
    out = subprocess.run(["nm", "-S", "--defined-only", vmlinux], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "tTwW":
            syms.append((int(p[0], 16), p[3]))
    syms.sort()
    return syms


TRACE_RE = re.compile(r"Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")


def tb_pcs(log):
    """The guest PC of every TB the log shows executed, in order."""
    with open(log, errors="replace") as f:
        for line in f:
            m = TRACE_RE.match(line)
            if m:
                yield int(m.group(1), 16)


def demangle(names):
    """Rust symbol names, readable (rustfilt, if installed: `cargo install rustfilt`)."""
    try:
        out = subprocess.run(["rustfilt"], input="\n".join(names), capture_output=True,
                             text=True, check=True).stdout.splitlines()
        return dict(zip(names, out))
    except (OSError, subprocess.CalledProcessError):
        return {n: n for n in names}


def main():
    log, vmlinux = sys.argv[1], sys.argv[2]
    syms = symbols(vmlinux)
    addrs = [a for a, _ in syms]
    entries = {a: n for a, n in syms if n in ENTRIES}
    name_at = lambda pc: syms[bisect.bisect_right(addrs, pc) - 1][1]
    stats = collections.defaultdict(lambda: [0, 0, 0, collections.Counter()])
    cur = None

    def close():
        if cur:
            st = stats[cur[0]]
            st[0] += 1
            st[1] += len(cur[1])
            st[2] += cur[2]
            st[3].update(cur[3])

    for pc in tb_pcs(log):
        if pc in entries:
            close()
            cur = [entries[pc], set(), 0, collections.Counter()]
        elif cur:
            cur[1].add(pc >> 12)
            cur[2] += 1
            cur[3][name_at(pc)] += 1
    close()
    names = demangle(sorted({fn for st in stats.values() for fn in st[3]}))
    for op, (n, pages, tbs, funcs) in sorted(stats.items()):
        print(f"{op:34} n={n:6} code pages/op={pages / n:5.2f} TBs/op={tbs / n:6.1f}")
        top = ", ".join(f"{names[fn]} {c / n:.1f}" for fn, c in funcs.most_common(6))
        print(f"    TBs by function: {top}")


if __name__ == "__main__":
    main()
