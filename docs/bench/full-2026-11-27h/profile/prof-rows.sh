cd /tmp/w4x
dmesg -n 1
for k in 1 2; do
  dmesg -c > /dev/null
  K0=$k K=$((k+1)) ./bbw --only w1 -i 200 | grep '^BENCH'
  sleep 1
  echo "RUN dump $k"
  dmesg | grep -E "BPROF|BP " | sed 's/^.*\(BPROF2\|BPROF\|BP \)/TAIL \1/'
done
