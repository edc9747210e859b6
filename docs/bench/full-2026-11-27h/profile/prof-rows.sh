# W1 rows of the K0/K copy of binder_bench (/tmp/w4x/bbw, see README.md), then the
# measurement builds' dumps, after each row pair (warm, cold):
#   prof-rows.sh [K0S [ITERS]]    K0S: "1" 4 KiB, "2" 64 KiB (default "1 2"); ITERS default 200
cd /tmp/w4x
dmesg -n 1
for k in ${1:-1 2}; do
  dmesg -c > /dev/null
  K0=$k K=$((k+1)) ./bbw --only w1 -i "${2:-200}" | grep '^BENCH'
  sleep 1
  echo "RUN dump $k"
  dmesg | grep -E "BPROF|BP " | sed 's/^.*\(BPROF2\|BPROF\|BP \)/TAIL \1/'
done
