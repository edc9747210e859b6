"""The binder programs that run inside the guest (tests/guest/)."""

from __future__ import annotations

import shlex
from pathlib import Path

from .errors import BuildError
from .runner import Runner
from .settings import REPO, Settings

GUEST_SRC = REPO / "tests" / "guest"
E2E_PREFIX = "E2E| "


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


def e2e_command(guest_dir: Path, alloc: str) -> str:
    """Guest shell command: run binder_e2e, prefix its KTAP lines, keep its status."""
    binary = shlex.quote(str(guest_dir / "binder_e2e"))
    return (f"{binary} --alloc {alloc} > /tmp/e2e.out 2>&1; e2e_rc=$?; "
            f"sed 's/^/{E2E_PREFIX}/' /tmp/e2e.out; exit $e2e_rc")


def demo_command(guest_dir: Path) -> str:
    return shlex.quote(str(guest_dir / "binder_demo"))
