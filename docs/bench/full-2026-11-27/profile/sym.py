# Symbolise the PCS lines of profile.sh with a System.map: samples per function.
import bisect, collections, sys
mapf, pcsf = sys.argv[1], sys.argv[2]
syms = []
for line in open(mapf):
    a, t, n = line.split()[:3]
    if t in "tTwW":
        syms.append((int(a, 16), n))
syms.sort()
addrs = [a for a, _ in syms]
c = collections.Counter()
total = 0
for line in open(pcsf):
    for pc in line.split()[1:]:
        pc = int(pc, 16)
        total += 1
        if pc < 0xffff800000000000:
            c["[user]"] += 1
            continue
        i = bisect.bisect_right(addrs, pc) - 1
        c[syms[i][1] if i >= 0 else "?"] += 1
idle = sum(v for k, v in c.items() if k in ("pv_native_safe_halt", "default_idle", "native_safe_halt", "default_idle_call", "acpi_safe_halt", "cpu_idle_poll", "do_idle"))
print(f"samples {total}, idle {idle}, busy {total-idle}")
for k, v in c.most_common():
    print(f"{v:5d} {100*v/(total-idle):5.1f}%  {k}")
