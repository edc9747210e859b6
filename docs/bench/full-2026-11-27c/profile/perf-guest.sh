#!/bin/bash
# Sampling profile of a benchmark workload with perf *inside* the guest,
# which works with 2 vCPUs (the gdbstub sampler of ../../full-2026-11-27/
# profile only with one). The minimal config has PERF_EVENTS; the guest
# runs the host's perf binary (vng shares the host's root filesystem).
#
#   ./perf-guest.sh rust 2 out/rw2 \
#     'for i in $(seq 8); do $CACHE/guest/binder_bench --only w2; done'
#   perf report -i out/rw2.data --kallsyms=out/rw2.kallsyms --stdio \
#     --no-children --comm binder_bench --sort sym -g none -n
#
# Needs the bench images (`pytools bench --quick` builds them). Caveats,
# measured here: under TCG the cpu-clock event delivers only a fraction of
# its nominal rate, and a sample lands on the first instruction of a
# translation block (often right after a call returns), so use the output
# for "which functions", not for exact shares; idle time is large in W2
# (the receiver's 200 ms end-of-round poll), filter with --comm.
set -euo pipefail
ALLOC=$1 CPUS=$2 OUT=$3 WORK=$4
CACHE=${PYTOOLS_CACHE:-$HOME/.cache/pytools}
IMG=$CACHE/build/minimal/pytools-images/$ALLOC/bzImage
WORK=${WORK//\$CACHE/$CACHE}
DIR=$(cd "$(dirname "$OUT")" && pwd)
TAG=$(basename "$OUT")
KHZ=$(awk -F: '/cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
# perf writes into the guest's /tmp; the results are copied to $DIR
# (writable in the guest through --rwdir) when the workload is done.
timeout 900 vng --run "$IMG" --user root --cpus "$CPUS" --memory 2G --verbose \
  --disable-kvm --append kunit.enable=0 --append tsc=reliable \
  --append "tsc_early_khz=$KHZ" --rwdir "$DIR" \
  --exec "echo 0 > /proc/sys/kernel/kptr_restrict; cd /tmp; \
perf record -q -e cpu-clock -F 1999 -a -g -o /tmp/p.data -- sh -c '$WORK' > /tmp/w.out 2>&1; \
cp /tmp/p.data $DIR/$TAG.data; cp /tmp/w.out $DIR/$TAG.out; \
cat /proc/kallsyms > $DIR/$TAG.kallsyms" \
  < /dev/null > "$DIR/$TAG.log" 2>&1 || true
# The guest's exit status is not the workload's: check that perf's output arrived.
test -s "$DIR/$TAG.data" || { echo "no $DIR/$TAG.data: see $DIR/$TAG.log" >&2; exit 1; }
ls -l "$DIR/$TAG.data" "$DIR/$TAG.out"
