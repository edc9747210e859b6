# Read the progress of binder_alloc_exhaustive_test in a running guest.
#
# Boot the kernel with QEMU's gdbstub (vng ... --qemu-opts="-gdb tcp::1234")
# and run, from the host:
#   gdb -q -batch -x exhaustive-progress.gdb <build dir>/vmlinux
# The kernel needs no debug info: the script scans the vCPU's current stack
# for the return address into binder_alloc_exhaustive_test (its call to
# gen_buf_offsets) and prints the words after it, the case's locals. In the
# builds measured on 2026-11-27 the fourth word is `runs` (cases done, of
# 750,000) and the third `failures`; two samples a few minutes apart give the
# rate. Only valid while the vCPU is running the case (not in an interrupt
# on another stack); sample again if nothing is found.
set pagination off
target remote :1234
python
import struct
import gdb
inf = gdb.selected_inferior()
rsp = int(gdb.parse_and_eval("$rsp")) & 0xffffffffffffffff
start = int(gdb.parse_and_eval("(unsigned long)binder_alloc_exhaustive_test"))
top = (rsp & ~0x3fff) + 0x8000
mem = bytes(inf.read_memory(rsp, top - rsp))
words = struct.unpack("<%dQ" % (len(mem) // 8), mem)
for i, w in enumerate(words):
    if start < w < start + 512:
        print("return into binder_alloc_exhaustive_test+%d at %x" % (w - start, rsp + 8 * i))
        print("failures %d runs %d" % (words[i + 3], words[i + 4]))
        break
else:
    print("not inside binder_alloc_exhaustive_test right now; sample again")
end
detach
quit
