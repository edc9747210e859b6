"""Programs that run inside the guest: tests/guest/ and the binderfs kselftests.

Several programs share one boot. Each writes its output to a file in the
guest; the files are then printed with a per-program prefix so the host can
split the console stream, and the boot's exit status is non-zero when any
program failed.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from .build import BuildResult
from .errors import BuildError
from .runner import Runner
from .settings import REPO, Settings

GUEST_SRC = REPO / "tests" / "guest"
BINDERFS_SELFTEST = Path("tools/testing/selftests/filesystems/binderfs")


@dataclass(frozen=True)
class GuestProgram:
    """One program run in the guest; ``tier`` names its results."""

    tier: str
    suite: str
    argv: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return f"{self.tier.upper()}| "


def build_guest_programs(settings: Settings, runner: Runner) -> Path:
    """Build tests/guest with the 7.3 uapi headers; return the output directory."""
    out = settings.guest_build
    out.mkdir(parents=True, exist_ok=True)
    if not (GUEST_SRC / "Makefile").exists():
        raise BuildError(f"{GUEST_SRC}/Makefile is missing")
    done = runner.run(["make", "-s", "-C", str(GUEST_SRC), f"O={out}",
                       f"KSRC={settings.pristine_tree}"])
    if done.returncode != 0:
        raise BuildError("building the guest programs failed:\n" + "\n".join(done.lines[-15:]))
    return out


def build_kselftests(settings: Settings, runner: Runner, result: BuildResult) -> Path:
    """Build the binderfs kselftest against the built kernel's exported headers."""
    headers = result.build_dir / "usr" / "include"
    done = runner.run(["make", "-s", "-C", str(result.work_tree), f"O={result.build_dir}",
                       "LLVM=-19", "headers"])
    if done.returncode != 0 or not headers.is_dir():
        raise BuildError("make headers failed:\n" + "\n".join(done.lines[-10:]))
    out = settings.guest_build / "kselftest" / result.build_dir.name
    out.mkdir(parents=True, exist_ok=True)
    done = runner.run(["make", "-s", "-C", str(result.work_tree / BINDERFS_SELFTEST),
                       f"OUTPUT={out}", f"KHDR_INCLUDES=-isystem {headers}"])
    if done.returncode != 0 or not (out / "binderfs_test").exists():
        raise BuildError("building the binderfs kselftest failed:\n"
                         + "\n".join(done.lines[-10:]))
    return out


def e2e_program(guest_dir: Path, alloc: str) -> GuestProgram:
    return GuestProgram("e2e", "binder_e2e", (str(guest_dir / "binder_e2e"), "--alloc", alloc))


def kselftest_program(kst_dir: Path) -> GuestProgram:
    return GuestProgram("kselftest", "binderfs", (str(kst_dir / "binderfs_test"),))


# Runs after the test programs on configs with kmemleak: two scans (objects
# must be seen unreferenced twice and be older than kmemleak's minimum age),
# then the report, as one KTAP case. The report lines also reach the console
# stream, where vm.PANIC flags them.
def kmemleak_script(path: str = "/sys/kernel/debug/kmemleak", settle: int = 6) -> str:
    return (
        f"f={path}; "
        "[ -e $f ] || mount -t debugfs none /sys/kernel/debug; "
        "echo 'TAP version 13'; echo 1..1; "
        "if [ ! -w $f ]; then echo 'not ok 1 kmemleak_no_unreferenced_objects "
        "# '$f' is missing (CONFIG_DEBUG_KMEMLEAK off?)'; exit 1; fi; "
        f"sleep {settle}; echo scan > $f; sleep 1; echo scan > $f; "
        "n=$(grep -c 'unreferenced object' $f); cat $f; "
        "if [ \"$n\" = 0 ]; then echo 'ok 1 kmemleak_no_unreferenced_objects'; "
        "else echo \"not ok 1 kmemleak_no_unreferenced_objects # $n objects\"; exit 1; fi"
    )


def kmemleak_program() -> GuestProgram:
    return GuestProgram("kmemleak", "kmemleak", ("sh", "-c", kmemleak_script()))


def guest_script(programs: list[GuestProgram]) -> str:
    """One shell command running every program, printing prefixed output."""
    if not programs:
        return "true"
    parts = ["status=0"]
    for i, prog in enumerate(programs):
        out = f"/tmp/pytools-{i}.out"
        argv = " ".join(shlex.quote(a) for a in prog.argv)
        parts.append(f"{argv} > {out} 2>&1 || status=1")
        parts.append(f"sed 's/^/{prog.prefix}/' {out}")
    parts.append("exit $status")
    return "; ".join(parts)


def split_output(lines: list[str], programs: list[GuestProgram]) -> tuple[list[str],
                                                                         dict[str, list[str]]]:
    """Kernel console lines, and each program's own lines (prefix removed)."""
    own: dict[str, list[str]] = {p.tier: [] for p in programs}
    kernel: list[str] = []
    for line in lines:
        for prog in programs:
            if line.startswith(prog.prefix):
                own[prog.tier].append(line[len(prog.prefix):])
                break
        else:
            kernel.append(line)
    return kernel, own


def demo_command(guest_dir: Path) -> str:
    return shlex.quote(str(guest_dir / "binder_demo"))
