"""``pytools build-rust``: configure and build a kernel with the chosen allocator.

Phases, each its own function: prepare (overlay onto a working copy), configure
(tinyconfig + fragments + ``-K`` options), verify (every requested option
survived), build (make with LLVM, ccache, out-of-tree build directory), record
(``metadata.json``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import overlay
from .errors import BuildError, PytoolsError
from .runner import Runner
from .settings import REPO, Settings
from .toolchain import LLVM_SUFFIX, bindgen_version, build_env, fmt, rustc_version

ALLOCATORS = ("c", "rust")
CONFIGS = ("minimal", "debug")
CONFIG_DIR = REPO / "c-shim" / "configs"
OPTION_RE = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
NOT_SET_RE = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


@dataclass(frozen=True)
class BuildRequest:
    """What to build."""

    alloc: str = "c"
    config: str = "minimal"
    options: tuple[str, ...] = ()
    jobs: int = 0

    def validate(self) -> None:
        if self.alloc not in ALLOCATORS:
            raise PytoolsError(f"unknown allocator {self.alloc!r}",
                               f"choose one of: {', '.join(ALLOCATORS)}")
        if self.config not in CONFIGS:
            raise PytoolsError(f"unknown config {self.config!r}",
                               f"choose one of: {', '.join(CONFIGS)}")
        for option in self.options:
            if not OPTION_RE.match(normalise_option(option)):
                raise PytoolsError(f"bad -K option {option!r}",
                                   "write it as CONFIG_FOO=y, FOO=n or CONFIG_BAR=\"text\"")


@dataclass
class BuildResult:
    """Where the kernel is, and how it was made."""

    build_dir: Path
    work_tree: Path
    seconds: float
    reproduce: str
    alloc: str = "c"
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def image(self) -> Path:
        """This allocator's kernel image (a copy: the build directory is shared)."""
        return image_path(self.build_dir, self.alloc)


def image_path(build_dir: Path, alloc: str) -> Path:
    return build_dir / "pytools-images" / alloc / "bzImage"


def normalise_option(option: str) -> str:
    option = option.strip()
    return option if option.startswith("CONFIG_") else "CONFIG_" + option


def fragments(req: BuildRequest) -> list[Path]:
    names = ["minimal.config"]
    if req.config == "debug":
        names.append("debug.config")
    names.append(f"alloc-{req.alloc}.config")
    return [CONFIG_DIR / name for name in names]


def requested_options(lines: list[str]) -> dict[str, str]:
    """``CONFIG_X -> value`` for every option a fragment asks for (``n`` for unset)."""
    wanted: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        match = OPTION_RE.match(line)
        if match:
            wanted[match.group(1)] = match.group(2)
            continue
        match = NOT_SET_RE.match(line)
        if match:
            wanted[match.group(1)] = "n"
    return wanted


def read_config(path: Path) -> dict[str, str]:
    return requested_options(path.read_text().splitlines())


def missing_options(wanted: dict[str, str], actual: dict[str, str]) -> list[str]:
    """Requested options that did not survive ``olddefconfig``, described."""
    missing = []
    for name, value in wanted.items():
        got = actual.get(name, "n")
        if value == "n":
            if got != "n":
                missing.append(f"{name}=n (got {got})")
        elif got != value:
            missing.append(f"{name}={value} (got {'unset' if got == 'n' else got})")
    return missing


def build_dir_for(settings: Settings, tree: overlay.KernelTree, req: BuildRequest) -> Path:
    """One build directory per tree and config, shared by both allocators.

    Switching the allocator changes two Kconfig symbols that only
    drivers/android reads, so Kbuild rebuilds a handful of objects instead of
    the whole kernel; each allocator's image is kept beside the build.
    """
    tag = overlay.tree_tag(settings, tree)
    name = req.config
    if req.options:
        name += "-" + hashlib.sha256("\n".join(sorted(req.options)).encode()).hexdigest()[:6]
    return settings.cache / "build" / (f"{tag}-{name}" if tag else name)


def _make(work: Path, build: Path, *targets: str, jobs: int | None = None) -> list[str]:
    argv = ["make", "-C", str(work), f"O={build}", f"LLVM={LLVM_SUFFIX}"]
    if jobs:
        argv.append(f"-j{jobs}")
    return argv + list(targets)


class Builder:
    """Runs the phases for one request."""

    def __init__(self, settings: Settings, runner: Runner, say=print) -> None:  # type: ignore[no-untyped-def]
        self.s = settings
        self.runner = runner
        self.say = say
        self.env = build_env(settings)

    def _run_checked(self, argv: list[str], what: str, log: Path | None = None) -> None:
        done = self.runner.run(argv, env=self.env)
        if log:
            log.write_text("\n".join(done.lines) + "\n")
        if done.returncode != 0:
            raise BuildError(f"{what} failed (exit {done.returncode}):\n"
                             + "\n".join(done.lines[-20:]))

    def configure(self, work: Path, build: Path, req: BuildRequest) -> dict[str, str]:
        frag_lines: list[str] = []
        for frag in fragments(req):
            if not frag.exists():
                raise BuildError(f"missing config fragment {frag}")
            frag_lines += frag.read_text().splitlines()
        extra = [normalise_option(o) for o in req.options]
        wanted = requested_options(frag_lines + extra)
        build.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha256(("\n".join(frag_lines + extra) + str(work)).encode()).hexdigest()
        stamp = build / ".pytools-config"
        if (build / ".config").exists() and stamp.exists() and stamp.read_text().strip() == key:
            self.say(f"[config] {build}/.config is up to date")
        else:
            self.say(f"[config] tinyconfig + {', '.join(f.name for f in fragments(req))}"
                     + (f" + {len(extra)} -K option(s)" if extra else ""))
            extra_frag = build / "pytools-extra.config"
            extra_frag.write_text("\n".join(extra) + "\n")
            self._run_checked(_make(work, build, "tinyconfig"), "make tinyconfig")
            self._run_checked([str(work / "scripts" / "kconfig" / "merge_config.sh"), "-m",
                               "-O", str(build), str(build / ".config"),
                               *[str(f) for f in fragments(req)], str(extra_frag)],
                              "merge_config.sh")
            self._run_checked(_make(work, build, "olddefconfig"), "make olddefconfig")
            stamp.write_text(key + "\n")
        missing = missing_options(wanted, read_config(build / ".config"))
        if missing:
            (build / ".pytools-config").unlink(missing_ok=True)
            raise BuildError(
                f"{len(missing)} requested option(s) did not survive configuration:\n  "
                + "\n  ".join(missing),
                "an option's dependencies are not met (CONFIG_RUST is dropped silently when "
                "the toolchain or another option excludes it); check `make menuconfig` in "
                f"{build}",
            )
        return wanted

    def make(self, work: Path, build: Path, req: BuildRequest) -> float:
        jobs = req.jobs or os.cpu_count() or 2
        argv = _make(work, build, jobs=jobs)
        log = build / "build.log"
        progress = Progress(self.say, sys.stdout.isatty())
        start = time.monotonic()
        with log.open("w") as fh:

            def sink(line: str) -> None:
                fh.write(line + "\n")
                progress.line(line)

            done = self.runner.run(argv, env=self.env, sink=sink, keep_lines=False)
        progress.finish()
        if done.returncode != 0:
            lines = log.read_text(errors="replace").splitlines()
            errors = [line for line in lines if re.search(r"error[:\[]|Error \d", line)]
            raise BuildError("kernel build failed:\n" + "\n".join((errors or lines)[-25:])
                             + f"\nfull log: {log}")
        return time.monotonic() - start

    def reproduce(self, work: Path, build: Path, jobs: int) -> str:
        shown = dict(self.env)
        shown["PATH"] = f"{self.s.ccache_bin}:{self.s.bindgen.parent}:$PATH"
        env = " ".join(f"{k}={shlex.quote(v)}" if k != "PATH" else f'{k}="{v}"'
                       for k, v in shown.items())
        return f"env {env} " + " ".join(map(shlex.quote, _make(work, build, jobs=jobs)))

    def build(self, req: BuildRequest) -> BuildResult:
        req.validate()
        tree = overlay.validate_tree(self.s.kernel_tree)
        work = overlay.prepare_work_tree(self.s, tree, self.runner, say=self.say)
        build = build_dir_for(self.s, tree, req)
        self.configure(work, build, req)
        jobs = req.jobs or os.cpu_count() or 2
        self.say(f"[build] {req.alloc} allocator, {req.config} config, -j{jobs}: {build}")
        self.say("[build] reproduce: " + self.reproduce(work, build, jobs))
        seconds = self.make(work, build, req)
        result = BuildResult(build, work, seconds, self.reproduce(work, build, jobs), req.alloc)
        built = build / "arch" / "x86" / "boot" / "bzImage"
        if not built.exists():
            raise BuildError(f"build finished but {built} is missing")
        result.image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, result.image)
        result.metadata = self.metadata(tree, work, build, req, seconds)
        for where in (build, result.image.parent):
            (where / "metadata.json").write_text(json.dumps(result.metadata, indent=2) + "\n")
        self.say(f"[build] done in {seconds:.0f} s: {result.image}")
        return result

    def metadata(self, tree: overlay.KernelTree, work: Path, build: Path,
                 req: BuildRequest, seconds: float) -> dict[str, object]:
        clang = self.runner.run([f"clang{LLVM_SUFFIX}", "--version"], env=self.env)
        rev = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty",
                              "--abbrev=12"], capture_output=True, text=True, check=False)
        return {
            "tree": str(tree.path),
            "kernel_version": tree.version_str,
            "work_tree": str(work),
            "build_dir": str(build),
            "request": asdict(req),
            "toolchain": {
                "rustc": fmt(rustc_version(self.runner)),
                "bindgen": fmt(bindgen_version(self.runner, self.s.bindgen)),
                "clang": clang.lines[0] if clang.lines else "unknown",
                "llvm": LLVM_SUFFIX,
            },
            "project_revision": rev.stdout.strip() or "unknown",
            "overlay_digest": overlay.series_digest(),
            "build_seconds": round(seconds, 1),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }


class Progress:
    """A one-line counter on a tty; a plain line every 30 s (and every warning) otherwise."""

    STEP = re.compile(r"^\s+([A-Z][A-Z0-9_ ]{1,10})\s+(\S+)")

    def __init__(self, say, tty: bool) -> None:  # type: ignore[no-untyped-def]
        self.say = say
        self.tty = tty
        self.steps = 0
        self.last = time.monotonic()
        self.start = self.last

    def line(self, line: str) -> None:
        match = self.STEP.match(line)
        if match:
            self.steps += 1
            now = time.monotonic()
            if self.tty:
                sys.stdout.write(f"\r[build] {self.steps:6d} steps {now - self.start:5.0f}s "
                                 f"{match.group(1).strip():<8} {match.group(2)[:60]:<60}")
                sys.stdout.flush()
            elif now - self.last >= 30:
                self.say(f"[build] {self.steps} steps, {now - self.start:.0f} s: "
                         f"{match.group(1).strip()} {match.group(2)}")
                self.last = now
        elif "warning:" in line or "error:" in line:
            if self.tty:
                sys.stdout.write("\n")
            self.say(line)

    def finish(self) -> None:
        if self.tty:
            sys.stdout.write("\n")
        self.say(f"[build] {self.steps} steps in {time.monotonic() - self.start:.0f} s")
