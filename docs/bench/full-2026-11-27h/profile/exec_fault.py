#!/usr/bin/env python3
"""Boot IMAGE under TCG and log every translation block QEMU runs inside
RANGES (-d exec,nochain -dfilter), but only while the guest runs COMMAND:
logging is switched on and off through the QEMU monitor when the guest
prints its markers, so the boot is not logged (logging all of it writes
many GB).

    ./exec_fault.py IMAGE LOG RANGES COMMAND

RANGES: the kernel's text and the guest program's, e.g.
0xffffffff81000000..0xffffffff8159d968,0x400000..0x500000 (`nm -n vmlinux`
for _stext/_etext; the bench programs are static, non-PIE). Pin COMMAND to
vCPU 0 (`taskset -c 0`): fault_tbs.py reads vCPU 0's blocks only.

ICOUNT=1 boots as `pytools bench --clock icount` does: one vCPU, QEMU's
-icount shift=0,sleep=off (guest time counted in guest instructions), the
TSC at 1 GHz. APPEND adds to the kernel command line, e.g.
APPEND=binder_linux.alloc_c_fault=1.
"""
import os
import socket
import subprocess
import sys
import time

img, log, ranges, command = sys.argv[1:5]
mon = log + ".monitor"
for f in (log, mon):
    if os.path.exists(f):
        os.remove(f)
icount = os.environ.get("ICOUNT") == "1"
argv = ["vng", "--run", img, "--user", "root", "--cpus", "1" if icount else "2",
        "--memory", "2G", "--verbose", "--disable-kvm", "--append", "kunit.enable=0"]
if icount:
    argv += ["--append", "tsc_early_khz=1000000 tsc=reliable"]
if os.environ.get("APPEND"):
    argv += ["--append", os.environ["APPEND"]]
argv += [f"--qemu-opts={'-icount shift=0,sleep=off ' if icount else ''}"
         f"-monitor unix:{mon},server,nowait -dfilter {ranges} -D {log}",
         "--exec", f"echo EXEC-LOG-ON; sleep 4; {command}; echo EXEC-LOG-OFF; sleep 2"]
sock = None


def monitor(cmd: str) -> None:
    global sock
    if sock is None:
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(mon)
        time.sleep(0.3)
        sock.recv(4096)
    sock.sendall((cmd + "\n").encode())
    time.sleep(0.3)


p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True)
for line in p.stdout:
    if "echo" in line:          # the command line itself, echoed by --verbose
        continue
    if "EXEC-LOG-ON" in line:
        monitor("log exec,nochain")
    elif "EXEC-LOG-OFF" in line:
        monitor("log none")
    elif "BENCH" in line:
        print(line.strip())
p.wait()
print(f"{log}: {os.path.getsize(log) if os.path.exists(log) else 0} bytes")
