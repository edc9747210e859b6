"""The project's files and glue patches, laid onto a working copy of a kernel tree.

The pristine tree is never written. A working copy is made once per source
tree; each build then computes the content every project-touched file must
have (project files copied in, the patch series applied on top of the pristine
versions) and writes only the files whose content changed. Files touched by an
earlier build but no longer by this one are restored from the pristine tree.
That keeps mtimes stable, so Kbuild's incremental builds stay incremental.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import BuildError, PytoolsError
from .runner import Runner
from .settings import REPO, Settings

# Project directory -> destination in the kernel tree.
OVERLAY_MAP: tuple[tuple[str, str], ...] = (
    ("rust/kernel", "rust/kernel"),
    ("rust/helpers", "rust/helpers"),
    ("rust/binder_alloc/core/src", "drivers/android/binder_alloc/core/src"),
    ("rust/binder_alloc/kernel", "drivers/android/binder_alloc/kernel"),
    ("c-shim/src", "drivers/android"),
    ("tests/kunit", "drivers/android/tests"),
)
OVERLAY_SUFFIXES = {".rs", ".c", ".h", ".S"}
SERIES = REPO / "c-shim" / "patches" / "series"
MANIFEST = ".pytools-overlay.json"


@dataclass(frozen=True)
class KernelTree:
    """A validated kernel source tree."""

    path: Path
    version: tuple[int, int, int]

    @property
    def version_str(self) -> str:
        return ".".join(map(str, self.version))


def validate_tree(path: Path) -> KernelTree:
    """Check that ``path`` is a 7.3+ kernel tree with the C binder allocator."""
    makefile = path / "Makefile"
    if not path.is_dir():
        raise PytoolsError(f"kernel tree {path} does not exist",
                           "run `pytools setup` for the default tree, or pass --tree PATH")
    if not makefile.exists():
        raise PytoolsError(f"{path} is not a kernel tree (no top-level Makefile)")
    fields: dict[str, str] = {}
    for line in makefile.read_text(errors="replace").splitlines()[:12]:
        match = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d*)", line)
        if match:
            fields[match.group(1)] = match.group(2) or "0"
    if "VERSION" not in fields or "PATCHLEVEL" not in fields:
        raise PytoolsError(f"{path} is not a kernel tree (Makefile has no VERSION/PATCHLEVEL)")
    version = (int(fields["VERSION"]), int(fields["PATCHLEVEL"]), int(fields.get("SUBLEVEL", "0")))
    if version[:2] < (7, 3):
        raise PytoolsError(f"{path} is Linux {'.'.join(map(str, version))}; 7.3 or newer is needed")
    if not (path / "drivers" / "android" / "binder_alloc.c").exists():
        raise PytoolsError(f"{path} has no drivers/android/binder_alloc.c")
    return KernelTree(path, version)


def project_files(repo: Path = REPO) -> dict[str, Path]:
    """Tree-relative destination -> project source file."""
    files: dict[str, Path] = {}
    for src_dir, dest_dir in OVERLAY_MAP:
        root = repo / src_dir
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in OVERLAY_SUFFIXES:
                rel = path.relative_to(root)
                dest = f"{dest_dir}/{rel.as_posix()}"
                if dest in files and files[dest] != path:
                    raise PytoolsError(f"two project files map to {dest}: {files[dest]}, {path}")
                files[dest] = path
    return files


def read_series(series: Path = SERIES) -> list[Path]:
    """The glue patches in order (quilt's series format: one name a line, # comments)."""
    if not series.exists():
        return []
    patches = []
    for line in series.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            patch = series.parent / name
            if not patch.exists():
                raise PytoolsError(f"{series}: {name} does not exist")
            patches.append(patch)
    return patches


def patch_targets(patch: Path) -> list[str]:
    """Files a unified diff touches (``+++ b/path`` lines; new files too)."""
    targets = []
    for line in patch.read_text(errors="replace").splitlines():
        if line.startswith("+++ "):
            name = line[4:].split("\t")[0].strip()
            if name != "/dev/null":
                targets.append(name.split("/", 1)[1])
        elif line.startswith("diff --git "):
            # git headers name the file even where ---/+++ lines are missing.
            targets.append(line.split(" b/", 1)[1].strip())
    return list(dict.fromkeys(targets))


def desired_contents(pristine: Path, runner: Runner) -> dict[str, bytes]:
    """Content of every file the project touches, computed in a scratch directory."""
    files = project_files()
    patches = read_series()
    contents: dict[str, bytes] = {dest: src.read_bytes() for dest, src in files.items()}
    if not patches:
        return contents
    with tempfile.TemporaryDirectory(prefix="pytools-patch-") as tmp:
        scratch = Path(tmp)
        for patch in patches:
            for rel in patch_targets(patch):
                target = scratch / rel
                if target.exists():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if rel in contents:
                    target.write_bytes(contents[rel])
                elif (pristine / rel).exists():
                    shutil.copy2(pristine / rel, target)
            done = runner.run(["patch", "-p1", "-N", "-s", "--fuzz=0", "--no-backup-if-mismatch",
                               "-d", str(scratch), "-i", str(patch)])
            if done.returncode != 0:
                raise BuildError(f"patch {patch.name} does not apply to {pristine}:\n"
                                 + "\n".join(done.lines[-10:]),
                                 "the series is written against Linux 7.3.4")
        for path in scratch.rglob("*"):
            if path.is_file():
                contents[path.relative_to(scratch).as_posix()] = path.read_bytes()
    return contents


def series_digest() -> str:
    """A digest of the project files and patches (for metadata and staleness)."""
    digest = hashlib.sha256()
    for dest, src in sorted(project_files().items()):
        digest.update(dest.encode() + b"\0" + src.read_bytes())
    for patch in read_series():
        digest.update(patch.name.encode() + b"\0" + patch.read_bytes())
    return digest.hexdigest()[:16]


def tree_tag(settings: Settings, tree: KernelTree) -> str:
    """Empty for the default (pristine Debian) tree, else a short digest of its path."""
    if tree.path == settings.pristine_tree:
        return ""
    return hashlib.sha256(str(tree.path).encode()).hexdigest()[:8]


def work_tree_for(settings: Settings, tree: KernelTree) -> Path:
    tag = tree_tag(settings, tree)
    return settings.cache / "work" / ("linux" if not tag else f"linux-{tag}")


def prepare_work_tree(settings: Settings, tree: KernelTree, runner: Runner,
                      say: Callable[[str], None] = print) -> Path:
    """Create or update the working copy; return its path."""
    work = work_tree_for(settings, tree)
    stamp = work / ".pytools-source"
    if not stamp.exists():
        if work.exists():
            shutil.rmtree(work)
        say(f"[overlay] copying {tree.path} to {work} (once per tree)")
        work.parent.mkdir(parents=True, exist_ok=True)
        done = runner.run(["cp", "-a", f"{tree.path}/.", str(work)])
        if done.returncode != 0:
            raise BuildError(f"copying the tree failed: {' '.join(done.lines[-3:])}")
        for leftover in (".config", "include/config", "include/generated"):
            if (work / leftover).exists():
                raise BuildError(f"{tree.path} has been configured in place ({leftover})",
                                 "run `make mrproper` in it; pytools builds out of tree")
        stamp.write_text(str(tree.path) + "\n")
    desired = desired_contents(tree.path, runner)
    manifest_path = work / MANIFEST
    previous: list[str] = json.loads(manifest_path.read_text()) if manifest_path.exists() else []
    changed = 0
    for rel in previous:
        if rel in desired:
            continue
        original = tree.path / rel
        target = work / rel
        if original.exists():
            if not target.exists() or target.read_bytes() != original.read_bytes():
                # A new mtime, not the pristine file's (copy2 would keep it): the build
                # directory holds objects made from the overlaid version, newer than the
                # pristine file, and make would keep them.
                shutil.copyfile(original, target)
                shutil.copymode(original, target)
                changed += 1
        elif target.exists():
            target.unlink()
            changed += 1
    for rel, content in sorted(desired.items()):
        target = work / rel
        if target.exists() and target.read_bytes() == content:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        changed += 1
    manifest_path.write_text(json.dumps(sorted(desired), indent=1) + "\n")
    say(f"[overlay] {len(desired)} project file(s), {len(read_series())} patch(es); "
        f"{changed} file(s) updated in {work}")
    return work
