#!/bin/bash
# Sampling profile of a benchmark workload in a
# guest, through QEMU's gdbstub: every sample stops the VM, reads each vCPU's
# program counter and resumes it. Needs the bench images (`pytools bench
# --quick` builds them), the matching System.map, gdb and vng.
#
#   CPUS=1 DUR=40 ITERS=200000 ./profile.sh rust rust.pcs
#   python3 sym.py <build>/System.map rust.pcs > rust.txt
#   python3 cat.py rust.txt
#
# The default workload is W1's sync round trip (its first measurement, the
# 0-byte warm loop). WORK replaces the guest command, e.g. the W2 oneway
# flood in a loop (../../full-2026-11-27b/profile; `$CACHE` in WORK becomes
# the pytools cache directory):
#
#   WORK='while true; do $CACHE/guest/binder_bench --only w2 > /dev/null; done' \
#     CPUS=1 DUR=60 ./profile.sh rust rust-w2.pcs
#
# Use one vCPU: with two, MTTCG vCPUs stopped by gdb were mostly caught in
# queued_spin_lock_slowpath on both allocators, which the benchmark's own
# timings (two vCPUs faster than one) contradict.
set -euo pipefail
ALLOC=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${PYTOOLS_CACHE:-$HOME/.cache/pytools}
IMG=$CACHE/build/minimal/pytools-images/$ALLOC/bzImage
WORK=${WORK:-"$CACHE/guest/binder_bench --only w1 -i ${ITERS:-200000} | head -3; busybox reboot -f"}
WORK=${WORK//\$CACHE/$CACHE}
KHZ=$(awk -F: '/cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
rm -f "$OUT" "$OUT.log"
timeout 600 vng --run "$IMG" --user root --cpus "${CPUS:-1}" --memory 2G --verbose \
  --disable-kvm --append kunit.enable=0 --append tsc=reliable \
  --append "tsc_early_khz=$KHZ" --qemu-opts="-gdb tcp::1240" \
  --exec "echo BENCHSTART; $WORK" \
  < /dev/null > "$OUT.log" 2>&1 &
vng_pid=$!
until grep -q "^BENCHSTART" "$OUT.log"; do sleep 0.5; done
# Skip the workload's start (for W1: into the 0-byte warm loop).
sleep 3
end=$((SECONDS + ${DUR:-40}))
while [ $SECONDS -lt $end ]; do
  timeout 10 gdb -q -batch -x "$HERE/sample.gdb" 2>/dev/null | grep "^PCS" >> "$OUT" || true
done
kill "$vng_pid" 2>/dev/null || true
pkill -f "tcp::1240" || true
wait "$vng_pid" 2>/dev/null || true
wc -l "$OUT"
