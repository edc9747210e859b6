#!/usr/bin/env python3
"""ranges.py VMLINUX: the kernel's text without rep_movs_alternative, for -dfilter."""
import subprocess
import sys

syms = [l.split() for l in subprocess.run(["nm", "-n", sys.argv[1]], capture_output=True,
                                          text=True, check=True).stdout.splitlines()]
syms = [s for s in syms if len(s) == 3]
a = {s[2]: int(s[0], 16) for s in syms}
i = next(k for k, s in enumerate(syms) if s[2] == "rep_movs_alternative")
print(f"{a['_stext']:#x}..{a['rep_movs_alternative'] - 1:#x},"
      f"{int(syms[i + 1][0], 16):#x}..{a['_etext']:#x}")
