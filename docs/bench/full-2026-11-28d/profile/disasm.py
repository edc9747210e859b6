"""The kernel's text, instruction by instruction, for the other scripts here.

A QEMU exec log (`-d exec,nochain`) names the first PC of every translation
block it runs; how many guest instructions the block holds is read from the
disassembly: from its PC to the first control transfer (included), or to the
end of its page, where TCG also ends a block. `rep` string instructions are
one block per iteration (one instruction each), as TCG runs them.
"""
from __future__ import annotations

import bisect
import os
import pickle
import re
import subprocess
import tempfile

TRACE = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
END = re.compile(r"\b(j[a-z]+|call|ret|iret[qd]?|syscall|sysret[ql]?|sysexit|ud2|hlt|int3?|"
                 r"sti|popf[q]?|wrmsr|lret|swapgs|int)\b")


class Text:
    def __init__(self, vmlinux: str) -> None:
        st = os.stat(vmlinux)
        key = re.sub(r"\W", "_", f"{os.path.abspath(vmlinux)}_{st.st_mtime_ns}_{st.st_size}")
        cache = os.path.join(tempfile.gettempdir(), f"disasm-{key}.pkl")
        if os.path.exists(cache):
            with open(cache, "rb") as f:
                self.addrs, self.ends_block = pickle.load(f)
        else:
            self.addrs, self.ends_block = [], []
            out = subprocess.Popen(["objdump", "-d", "--no-show-raw-insn", "-j", ".text", vmlinux],
                                   stdout=subprocess.PIPE, text=True)
            assert out.stdout is not None
            for line in out.stdout:
                m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
                if m:
                    self.addrs.append(int(m.group(1), 16))
                    self.ends_block.append(bool(END.search(m.group(2).split("#")[0])))
            with open(cache, "wb") as f:
                pickle.dump((self.addrs, self.ends_block), f)
        self.syms: list[tuple[int, str]] = []
        for line in subprocess.run(["nm", "-n", vmlinux], capture_output=True, text=True,
                                   check=True).stdout.splitlines():
            p = line.split()
            if len(p) >= 3 and p[1] in "tTwW":
                self.syms.append((int(p[0], 16), p[2]))
        self.sym_addrs = [a for a, _ in self.syms]
        self._blocks: dict[int, tuple[int, int]] = {}

    def sym(self, pc: int) -> str:
        i = bisect.bisect_right(self.sym_addrs, pc) - 1
        return self.syms[i][1] if i >= 0 else "?"

    def addr_of(self, name: str) -> int:
        return next(a for a, s in self.syms if s == name)

    def block(self, pc: int) -> tuple[int, int]:
        """(instructions, address after the block) of the block starting at PC."""
        if pc not in self._blocks:
            i = bisect.bisect_left(self.addrs, pc)
            n = 0
            while i < len(self.addrs):
                if self.addrs[i] != pc and (self.addrs[i] >> 12) != (pc >> 12):
                    break
                n += 1
                i += 1
                if self.ends_block[i - 1]:
                    break
            self._blocks[pc] = (max(n, 1), self.addrs[i] if i < len(self.addrs) else pc)
        return self._blocks[pc]


def pcs(log: str):
    """The first PC of every block the log shows run, in order."""
    with open(log, errors="replace") as f:
        for line in f:
            m = TRACE.match(line)
            if m:
                yield int(m.group(1), 16)
