# Read every vCPU's program counter once (profile.sh runs this per sample).
set pagination off
target remote :1240
python
import gdb
out = []
for t in gdb.selected_inferior().threads():
    t.switch()
    out.append("%x" % (int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff))
print("PCS " + " ".join(out))
end
detach
quit
