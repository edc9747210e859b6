"""Errors that pytools reports as one clear line instead of a traceback."""

from __future__ import annotations


class PytoolsError(Exception):
    """A user-facing failure. ``exit_code`` is what the command returns."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def render(self) -> str:
        text = f"pytools: error: {self}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class MissingToolsError(PytoolsError):
    """Required host tools are missing (``pytools doctor`` exits with 3)."""

    exit_code = 3


class BuildError(PytoolsError):
    """Preparing, configuring or building the kernel failed."""

    exit_code = 4


class GuestError(PytoolsError):
    """The guest did not boot, or did not finish in time."""

    exit_code = 5
