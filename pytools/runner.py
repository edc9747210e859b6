"""Running external commands: streamed lines, argv lists, injectable for tests.

Every command pytools runs goes through a :class:`Runner`, so the unit tests can
substitute :class:`FakeRunner` and check the argv lists without a kernel.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence


@dataclass
class Completed:
    """The result of a finished command."""

    argv: list[str]
    returncode: int
    lines: list[str]
    timed_out: bool = False
    seconds: float = 0.0


LineSink = Callable[[str], None]


class Runner(Protocol):
    """Runs a command, calling ``sink`` with each output line as it arrives."""

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        sink: LineSink | None = None,
        keep_lines: bool = True,
    ) -> Completed: ...


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class RealRunner:
    """Runs commands with stdin from /dev/null, stdout and stderr merged and streamed.

    The command runs in its own process group so that a timeout kills the whole
    tree (QEMU under virtme-ng under ``timeout`` would otherwise survive).
    """

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        sink: LineSink | None = None,
        keep_lines: bool = True,
    ) -> Completed:
        start = time.monotonic()
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except FileNotFoundError:
            return Completed(list(argv), 127, [f"{argv[0]}: command not found"])
        timed_out = threading.Event()
        timer: threading.Timer | None = None
        if timeout is not None:

            def expire() -> None:
                timed_out.set()
                _kill_group(proc)

            timer = threading.Timer(timeout, expire)
            timer.start()
        lines: list[str] = []
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                if keep_lines:
                    lines.append(line)
                if sink:
                    sink(line)
            proc.wait()
        finally:
            if timer:
                timer.cancel()
            if proc.poll() is None:
                _kill_group(proc)
                proc.wait()
        return Completed(
            list(argv),
            proc.returncode,
            lines,
            timed_out=timed_out.is_set(),
            seconds=time.monotonic() - start,
        )


@dataclass
class FakeRunner:
    """A runner for unit tests: records argv lists and replays scripted results.

    ``responses`` maps the first argv words (joined by spaces) to a
    ``(returncode, lines)`` pair; the longest matching prefix wins.
    """

    responses: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        sink: LineSink | None = None,
        keep_lines: bool = True,
    ) -> Completed:
        self.calls.append(list(argv))
        words = list(argv)
        best: tuple[int, list[str]] = (0, [])
        best_len = -1
        for key, value in self.responses.items():
            prefix = key.split()
            if words[: len(prefix)] == prefix and len(prefix) > best_len:
                best, best_len = value, len(prefix)
        for line in best[1]:
            if sink:
                sink(line)
        return Completed(list(argv), best[0], list(best[1]))

