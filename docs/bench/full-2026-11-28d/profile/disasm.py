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
import pathlib
import pickle
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]
                       / "full-2026-11-27h" / "profile"))
# The logs here are of one vCPU, so vCPU 0's blocks are all of them.
from fault_tbs import namer, text_symbols, vcpu0_pcs as pcs  # noqa: E402,F401

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
        self.syms = text_symbols(vmlinux)
        self.sym = namer(self.syms)
        self._blocks: dict[int, tuple[int, int]] = {}

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

