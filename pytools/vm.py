"""Booting a built kernel with virtme-ng, always under a timeout.

KVM is used only when it really boots a guest: on the machines this project
runs on, ``/dev/kvm`` is a software hypervisor module with no VMX/SVM in the
CPU flags, and KVM guests hang. The probe result is cached and reported.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import GuestError, PytoolsError
from .runner import Runner
from .settings import Settings

START = "PYTOOLS_GUEST_START"
RC = "PYTOOLS_GUEST_RC="
PANIC = re.compile(r"Kernel panic|BUG: |Oops:|general protection fault|KASAN:|"
                   r"WARNING: possible circular locking|WARNING: CPU:|"
                   r"unreferenced object|INFO: task .* blocked|inconsistent lock state|"
                   r"possible recursive locking|suspicious RCU usage|bad unlock balance|"
                   r"UBSAN: ")
# The kernel's line after bringing up the secondary CPUs.
SMP_UP = re.compile(r"smp: Brought up \d+ nodes?, (\d+) CPUs?")


@dataclass(frozen=True)
class Accel:
    name: str  # "kvm" or "tcg"
    reason: str


@dataclass
class GuestRun:
    """What happened in one boot."""

    returncode: int
    lines: list[str]
    seconds: float
    accel: str

    def kernel_reports(self) -> list[str]:
        """Lines where the kernel reported a bug (KASAN, lockdep, BUG, kmemleak...)."""
        return [line for line in self.lines if PANIC.search(line)]


def _cpu_has_virt(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    return bool(re.search(r"^flags\s*:.*\b(vmx|svm)\b", text, re.M))


def probe_accel(settings: Settings, runner: Runner, image: Path | None = None) -> Accel:
    forced = os.environ.get("PYTOOLS_ACCEL")
    if forced in ("kvm", "tcg"):
        return Accel(forced, "forced by PYTOOLS_ACCEL")
    if not Path("/dev/kvm").exists():
        return Accel("tcg", "/dev/kvm does not exist")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return Accel("tcg", "/dev/kvm is not accessible")
    if not _cpu_has_virt():
        return Accel("tcg", "/dev/kvm exists but the CPU has no vmx/svm flag "
                            "(a software hypervisor module): KVM guests hang here")
    cache = settings.cache / "accel.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        return Accel(data["name"], data["reason"] + " (cached probe)")
    if image is None:
        return Accel("tcg", "KVM not yet probed with a real boot (no kernel built yet)")
    try:
        run = run_guest(settings, runner, image, "true", accel="kvm", timeout=90)
        accel = (Accel("kvm", "a KVM guest booted and ran a command")
                 if run.returncode == 0 else
                 Accel("tcg", f"KVM guest exited with {run.returncode}"))
    except GuestError as exc:
        accel = Accel("tcg", f"KVM guest failed: {str(exc).splitlines()[0]}")
    cache.write_text(json.dumps({"name": accel.name, "reason": accel.reason}) + "\n")
    return accel


def vng_argv(image: Path, command: str, *, accel: str, cpus: int, memory: str,
             append: list[str], qemu_opts: list[str] | None = None) -> list[str]:
    # A forced reboot ends QEMU (virtme-ng runs it with -no-reboot) on any
    # config: it needs no ACPI (i8042 reset), where `poweroff -f` without
    # ACPI only halts. The exit status travels in the RC marker line, which
    # run_guest() parses.
    wrapped = (f"echo {START}; ( {command} ); rc=$?; echo {RC}$rc; sync; "
               f"busybox reboot -f; exit $rc")
    argv = ["vng", "--run", str(image), "--user", "root", "--cpus", str(cpus),
            "--memory", memory, "--verbose", "--exec", wrapped]
    if accel == "tcg":
        argv.append("--disable-kvm")
    for item in append:
        argv += ["--append", item]
    for item in qemu_opts or []:
        # One token: the value starts with '-', which a separate argument would not survive.
        argv.append(f"--qemu-opts={item}")
    return argv


def guest_cpus(lines: list[str]) -> int | None:
    """How many CPUs the guest kernel brought up, from its console; None if it did not say."""
    for line in lines:
        m = SMP_UP.search(line)
        if m:
            return int(m.group(1))
    return None


def run_guest(settings: Settings, runner: Runner, image: Path, command: str, *,
              accel: str = "tcg", timeout: float = 600, cpus: int = 1, memory: str = "1G",
              append: list[str] | None = None, qemu_opts: list[str] | None = None,
              echo: bool = False) -> GuestRun:
    """Boot ``image``'s kernel, run ``command`` as root, return its status.

    Raises GuestError when the guest never reaches the command or does not
    finish within ``timeout`` seconds.
    """
    if not image.is_file():
        raise PytoolsError(f"no kernel image at {image}", "run `pytools build-rust` first")
    argv = vng_argv(image, command, accel=accel, cpus=cpus, memory=memory,
                    append=append or [], qemu_opts=qemu_opts)
    log_dir = settings.cache / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"guest-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    start = time.monotonic()
    with log_path.open("w") as log:

        def sink(line: str) -> None:
            log.write(line + "\n")
            log.flush()
            if echo:
                print(line, flush=True)

        done = runner.run(argv, timeout=timeout, sink=sink)
    seconds = time.monotonic() - start
    started = any(line.strip().endswith(START) and "echo" not in line for line in done.lines)
    rc_lines = [line for line in done.lines if RC in line and "echo" not in line]
    tail = "\n".join(done.lines[-25:]) + f"\n(full console log: {log_path})"
    if done.timed_out:
        where = "while running the command" if started else "before the command started"
        raise GuestError(f"guest timed out after {timeout:.0f} s {where} ({accel}); "
                         f"last output:\n{tail}")
    if not started:
        raise GuestError(f"guest did not boot (vng exit {done.returncode}, {accel}); "
                         f"last output:\n{tail}", "check the config: the guest needs 9p, "
                         "virtio console and a way to power off")
    match = re.search(RC + r"(\d+)", rc_lines[-1]) if rc_lines else None
    if match is None:
        raise GuestError(f"the guest command started but never reported its exit status "
                         f"(kernel crash or reset?); last output:\n{tail}")
    online = guest_cpus(done.lines)
    if online != cpus:
        # A kernel that cannot find the other vCPUs still boots and runs the
        # command on one CPU; every result would then claim a concurrency it
        # did not have.
        seen = "an unknown number of" if online is None else str(online)
        raise GuestError(f"the guest ran on {seen} CPU(s), {cpus} asked for "
                         f"(full console log: {log_path})",
                         "the kernel needs CONFIG_ACPI to find more than the boot CPU; "
                         "without it the BIOS's MP table lists only that one here")
    return GuestRun(int(match.group(1)), done.lines, seconds, accel)

