#!/bin/bash
# Which code pages, and how many translation blocks, each allocator
# operation executes: QEMU logs every TB it runs inside RANGES (-d exec with
# -d nochain, so that chained TBs are logged too, and -dfilter), while the
# guest runs W1 0-byte warm round trips pinned to one vCPU; exec_pages.py
# splits the log at the entry points binder.c calls.
#
#   ./exec-pages.sh IMAGE VMLINUX RANGES OUT
#   e.g. RANGES=0xffffffff81415000..0xffffffff81422000 (the allocator's
#   text, from `nm -n VMLINUX`; for C add lib/rbtree.c's range, which
#   Rust's own tree replaces: "A..B,C..D")
#
# Only the first row of W1 runs (0 bytes, warm): binder_bench is killed as
# soon as it printed it. Deterministic (no timing involved); the log of 2000
# round trips is about 100 MB. Needs the bench guest programs (`pytools bench --quick` builds them).
set -euo pipefail
IMG=$1 VMLINUX=$2 RANGES=$3 OUT=$4
CACHE=${PYTOOLS_CACHE:-$HOME/.cache/pytools}
KHZ=$(awk -F: '/cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
rm -f "$OUT"
timeout 900 vng --run "$IMG" --user root --cpus 2 --memory 2G --verbose \
  --disable-kvm --append kunit.enable=0 --append tsc=reliable \
  --append "tsc_early_khz=$KHZ" \
  --qemu-opts="-d exec,nochain -dfilter $RANGES -D $OUT" \
  --exec "taskset -c 0 $CACHE/guest/binder_bench --only w1 -i 2000 > /tmp/w1.out & \
while ! grep -q BENCH /tmp/w1.out; do sleep 0.1; done; pkill binder_bench; head -1 /tmp/w1.out" \
  < /dev/null > "$OUT.console" 2>&1 || true
test -s "$OUT" || { echo "no exec log: see $OUT.console" >&2; exit 1; }
python3 "$(dirname "$0")/exec_pages.py" "$OUT" "$VMLINUX"
