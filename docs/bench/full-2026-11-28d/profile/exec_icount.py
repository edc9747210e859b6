#!/usr/bin/env python3
"""Boot IMAGE on one vCPU under TCG with -icount (guest time counted in guest
instructions, as `pytools bench --clock icount`) and log every translation
block QEMU runs inside RANGES (-d exec,nochain -dfilter), only while COMMAND
runs: logging is switched on and off through the QEMU monitor when the guest
prints its markers.

    APPEND="binder_linux.alloc_c_fault=1" ./exec_icount.py IMAGE LOG RANGES COMMAND

RANGES: the kernel's text without the copy loop, e.g.
0xffffffff81000000..<rep_movs_alternative - 1>,<copy_to_nontemporal>..<_etext>
(`nm -n vmlinux`): a 64 KiB copy is 65536 one-instruction blocks, which the
allocators run alike and which would make the log 100 times larger.
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
argv = ["vng", "--run", img, "--user", "root", "--cpus", "1", "--memory", "2G", "--verbose",
        "--disable-kvm", "--append", "kunit.enable=0 tsc_early_khz=1000000 tsc=reliable"]
if os.environ.get("APPEND"):
    argv += ["--append", os.environ["APPEND"]]
argv += [f"--qemu-opts=-icount shift=0,sleep=off -monitor unix:{mon},server,nowait "
         f"-dfilter {ranges} -D {log}",
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
assert p.stdout is not None
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
