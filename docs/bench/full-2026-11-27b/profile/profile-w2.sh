#!/bin/bash
# Sampling profile of the W2 oneway flood (binder_bench --only w2 in a loop) in a
# guest, through QEMU's gdbstub: every sample stops the VM, reads each vCPU's
# program counter and resumes it. Needs the bench images (`pytools bench
# --quick` builds them), the matching System.map, gdb and vng.
#
#   CPUS=1 DUR=60 ./profile-w2.sh rust rust-w2.pcs
#   python3 ../../full-2026-11-27/profile/sym.py <build>/System.map rust-w2.pcs
#
# A copy of ../../full-2026-11-27/profile/profile.sh with another workload;
# it uses that directory's sample.gdb.
#
# Use one vCPU: with two, MTTCG vCPUs stopped by gdb were mostly caught in
# queued_spin_lock_slowpath on both allocators, which the benchmark's own
# timings (two vCPUs faster than one) contradict.
set -euo pipefail
ALLOC=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${PYTOOLS_CACHE:-$HOME/.cache/pytools}
IMG=$CACHE/build/minimal/pytools-images/$ALLOC/bzImage
KHZ=$(awk -F: '/cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
rm -f "$OUT" "$OUT.log"
timeout 600 vng --run "$IMG" --user root --cpus "${CPUS:-1}" --memory 2G --verbose \
  --disable-kvm --append kunit.enable=0 --append tsc=reliable \
  --append "tsc_early_khz=$KHZ" --qemu-opts="-gdb tcp::1240" \
  --exec "echo BENCHSTART; while true; do $CACHE/guest/binder_bench --only w2 > /dev/null; done" \
  < /dev/null > "$OUT.log" 2>&1 &
vng_pid=$!
until grep -q "^BENCHSTART" "$OUT.log"; do sleep 0.5; done
sleep 3
end=$((SECONDS + ${DUR:-40}))
while [ $SECONDS -lt $end ]; do
  timeout 10 gdb -q -batch -x "$HERE/../../full-2026-11-27/profile/sample.gdb" 2>/dev/null | grep "^PCS" >> "$OUT" || true
done
kill "$vng_pid" 2>/dev/null || true
pkill -f "tcp::1240" || true
wait "$vng_pid" 2>/dev/null || true
wc -l "$OUT"
