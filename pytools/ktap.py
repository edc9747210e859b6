"""KTAP parsing through the kernel's own KUnit parser (tools/testing/kunit).

The parser is imported from the kernel tree being tested, so pytools never
carries a copy of it. ``flatten`` turns its tree of tests into one row per
test case.
"""

from __future__ import annotations

import importlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Iterable

from .errors import PytoolsError


@dataclass(frozen=True)
class CaseResult:
    suite: str
    case: str
    status: str  # pass, fail, skip, error
    detail: str = ""


_STATUS = {
    "SUCCESS": "pass",
    "FAILURE": "fail",
    "SKIPPED": "skip",
    "TEST_CRASHED": "error",
    "NO_TESTS": "error",
    "FAILURE_TO_PARSE_TESTS": "error",
}


def load_parser(tree: Path) -> ModuleType:
    kunit_dir = tree / "tools" / "testing" / "kunit"
    if not (kunit_dir / "kunit_parser.py").exists():
        raise PytoolsError(f"{kunit_dir}/kunit_parser.py not found",
                           "the KTAP parser is taken from the kernel tree under test")
    if str(kunit_dir) not in sys.path:
        sys.path.insert(0, str(kunit_dir))
    return importlib.import_module("kunit_parser")


def parse(tree: Path, lines: Iterable[str], flat_suite: str = "") -> list[CaseResult]:
    """Parse kernel or program output with KTAP into case rows.

    A suite that crashed or whose plan was not completed yields ``error`` rows.
    Top-level cases without subtests (a program's flat KTAP) are put in
    ``flat_suite``.
    """
    parser = load_parser(tree)
    printer_mod = importlib.import_module("kunit_printer")
    printer = printer_mod.Printer(print=False, output=io.StringIO())
    root = parser.parse_run_tests(list(lines), printer)
    rows: list[CaseResult] = []
    if root.name == "<missing>":
        return rows

    def walk(test, suite: str) -> None:  # type: ignore[no-untyped-def]
        if not test.subtests:
            status = _STATUS.get(test.status.name, "error")
            rows.append(CaseResult(suite, test.name, status, test.skip_reason or ""))
            return
        for sub in test.subtests:
            walk(sub, suite if suite else sub.name)
        if test.expected_count is not None and len(test.subtests) < test.expected_count:
            rows.append(CaseResult(suite or test.name, "<incomplete plan>", "error",
                                   f"{len(test.subtests)} of {test.expected_count} ran"))

    for suite in root.subtests:
        if suite.subtests:
            walk(suite, suite.name)
        else:
            status = _STATUS.get(suite.status.name, "error")
            rows.append(CaseResult(flat_suite or suite.name, suite.name, status,
                                   suite.skip_reason or ""))
    if root.expected_count is not None and len(root.subtests) < root.expected_count:
        rows.append(CaseResult("<top>", "<incomplete plan>", "error",
                               f"{len(root.subtests)} of {root.expected_count} suites ran"))
    return rows
