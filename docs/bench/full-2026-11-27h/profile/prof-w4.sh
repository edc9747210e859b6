cd /tmp/w4x
dmesg -n 1
dmesg -c > /dev/null
./bbw --only w4 | grep '^BENCH'
sleep 1
echo "RUN dump 4"
dmesg | grep -E "BPROF|BP |BPMAX" | sed 's/^.*\(BPROFMAX\|BPROF2\|BPROF\|BPMAX\|BP \)/TAIL \1/'
