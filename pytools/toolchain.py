"""``pytools setup`` and ``pytools doctor``: the host toolchain.

Host packages come from the system's own apt sources, pinned to bookworm. The
kernel source and the Rust standard library sources come from Debian's
trixie-backports through a *private* apt configuration under the cache: the
system's sources are never edited and no system package is upgraded.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .errors import MissingToolsError, PytoolsError
from .runner import Runner
from .settings import KERNEL_DEB, Settings

APT_PACKAGES = (
    "clang-19", "lld-19", "llvm-19", "libclang-19-dev", "flex", "bison", "bc",
    "cpio", "kmod", "rsync", "libelf-dev", "libssl-dev", "ccache",
    "qemu-system-x86", "busybox-static", "udev", "make", "gcc", "libc6-dev",
    "patch", "python3-dev", "pahole",
)
BINDGEN_VERSION = "0.71.1"
RUSTC_MIN = (1, 85, 0)
BACKPORTS_SUITE = "trixie-backports"
LLVM_SUFFIX = "-19"
LIBCLANG_DIR = Path("/usr/lib/llvm-19/lib")

Say = Callable[[str], None]


def _say(msg: str) -> None:
    print(f"[setup] {msg}", flush=True)


def parse_version(text: str) -> tuple[int, ...] | None:
    """The first dotted version number in ``text``."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return tuple(int(part) for part in match.groups(default="0"))


def fmt(version: tuple[int, ...] | None) -> str:
    return ".".join(map(str, version)) if version else "missing"


def rustc_version(runner: Runner) -> tuple[int, ...] | None:
    done = runner.run(["rustc", "--version"])
    return parse_version(" ".join(done.lines)) if done.returncode == 0 else None


def dpkg_installed(runner: Runner, packages: Sequence[str]) -> set[str]:
    """The subset of ``packages`` that dpkg reports as installed."""
    done = runner.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *packages])
    found = set()
    for line in done.lines:
        parts = line.split()
        if len(parts) == 2 and parts[1] == "installed":
            found.add(parts[0])
    return found


def debian_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive URI the system already uses (the bookworm entry).

    Reusing the system's own mirror keeps the registry host out of the project.
    """
    candidates: list[str] = []
    for path in sorted((sources_dir / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith("#"):
                    key, _, value = line.partition(":")
                    fields[key.strip()] = value.strip()
            suites = fields.get("Suites", "").split()
            if "bookworm" in suites and fields.get("URIs"):
                candidates.extend(fields["URIs"].split())
    legacy = sources_dir / "sources.list"
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb":
                uri = next((p for p in parts[1:] if "://" in p), None)
                if uri and "bookworm" in parts and "security" not in uri:
                    candidates.append(uri)
    if not candidates:
        raise PytoolsError("no bookworm entry in the system's apt sources",
                           "pytools reuses the system's Debian mirror for trixie-backports")
    return candidates[0]


@dataclass
class PrivateApt:
    """An apt configuration under the cache that only knows trixie-backports."""

    root: Path
    mirror: str

    def options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::SourceList={self.root / 'sources.list'}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={self.root / 'lists'}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", "Dir::State::status=/dev/null",
            "-o", "APT::Sandbox::User=root",
        ]

    def prepare(self) -> None:
        (self.root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
        (self.root / "sources.list").write_text(
            f"deb [signed-by={keyring}] {self.mirror} {BACKPORTS_SUITE} main\n"
        )


def backports_versions(runner: Runner, apt: PrivateApt, package: str) -> list[str]:
    done = runner.run(["apt-cache", *apt.options(), "madison", package])
    versions = []
    for line in done.lines:
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 2 and parts[0] == package:
            versions.append(parts[1])
    return versions


def _check(done_rc: int, what: str, lines: Sequence[str]) -> None:
    if done_rc != 0:
        tail = "\n".join(list(lines)[-15:])
        raise PytoolsError(f"{what} failed (exit {done_rc}):\n{tail}")


class Setup:
    """Idempotent installation of everything the build and the guest need."""

    def __init__(self, settings: Settings, runner: Runner, say: Say = _say) -> None:
        self.s = settings
        self.runner = runner
        self.say = say

    def run(self) -> None:
        self.s.cache.mkdir(parents=True, exist_ok=True)
        self.host_packages()
        apt: PrivateApt | None = None
        if not self._pristine_ready():
            apt = self._backports()
            self.kernel_source(apt)
        else:
            self.say(f"kernel source: {self.s.pristine_tree} (present)")
        if not self._rust_src_ready():
            self.rust_src(apt or self._backports())
        else:
            self.say(f"rust-src: {self.s.rust_src} (present)")
        self.bindgen()
        self.ccache()
        self.guest_tools()
        self.say("done")

    # Host packages -------------------------------------------------------

    def host_packages(self) -> None:
        have = dpkg_installed(self.runner, APT_PACKAGES)
        missing = [p for p in APT_PACKAGES if p not in have]
        if not missing:
            self.say(f"host packages: all {len(APT_PACKAGES)} installed")
            return
        self.say(f"host packages: installing {' '.join(missing)} (apt, -t bookworm)")
        done = self.runner.run(["apt-get", "update", "-q"], sink=self._progress)
        _check(done.returncode, "apt-get update", done.lines)
        done = self.runner.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends",
             "-t", "bookworm", *missing],
            env={"DEBIAN_FRONTEND": "noninteractive"},
            sink=self._progress,
        )
        _check(done.returncode, "apt-get install", done.lines)

    def _progress(self, line: str) -> None:
        if line.startswith(("Get:", "Setting up", "Unpacking", "E:", "Err:")):
            self.say("  " + line[:110])

    # trixie-backports ------------------------------------------------------

    def _backports(self) -> PrivateApt:
        apt = PrivateApt(self.s.apt_dir, debian_mirror())
        apt.prepare()
        self.say(f"private apt index for {BACKPORTS_SUITE} under {apt.root}")
        done = self.runner.run(["apt-get", *apt.options(), "update", "-q"])
        _check(done.returncode, f"apt-get update ({BACKPORTS_SUITE})", done.lines)
        return apt

    def _download(self, apt: PrivateApt, package: str, version: str) -> Path:
        self.s.debs.mkdir(parents=True, exist_ok=True)
        existing = list(self.s.debs.glob(f"{package}_*.deb"))
        wanted = [p for p in existing if _deb_version(p) == version]
        if wanted:
            return wanted[0]
        self.say(f"downloading {package}={version}")
        done = self.runner.run(["apt-get", *apt.options(), "download", f"{package}={version}"],
                               cwd=self.s.debs)
        _check(done.returncode, f"apt-get download {package}", done.lines)
        found = [p for p in self.s.debs.glob(f"{package}_*.deb") if _deb_version(p) == version]
        if not found:
            raise PytoolsError(f"apt-get download {package} produced no .deb in {self.s.debs}")
        return found[0]

    def _pristine_ready(self) -> bool:
        return (self.s.pristine_tree / ".pytools-pristine").exists()

    def kernel_source(self, apt: PrivateApt) -> None:
        versions = backports_versions(self.runner, apt, KERNEL_DEB)
        if not versions:
            raise PytoolsError(f"{KERNEL_DEB} not found in {BACKPORTS_SUITE}")
        deb = self._download(apt, KERNEL_DEB, versions[0])
        unpack = self.s.cache / "unpack" / KERNEL_DEB
        shutil.rmtree(unpack, ignore_errors=True)
        unpack.mkdir(parents=True)
        self.say(f"unpacking {deb.name}")
        done = self.runner.run(["dpkg-deb", "-x", str(deb), str(unpack)])
        _check(done.returncode, "dpkg-deb -x", done.lines)
        tarballs = list((unpack / "usr" / "src").glob("linux-source-*.tar.*"))
        if len(tarballs) != 1:
            raise PytoolsError(f"expected one kernel tarball in {deb.name}, found {tarballs}")
        dest = self.s.pristine_tree
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.say(f"extracting the kernel tree into {dest} (about 30 s)")
        done = self.runner.run(["tar", "-xf", str(tarballs[0]), "-C", str(dest.parent)])
        _check(done.returncode, "tar -x", done.lines)
        if not (dest / "Makefile").exists():
            raise PytoolsError(f"{tarballs[0].name} did not unpack to {dest}")
        (dest / ".pytools-pristine").write_text(json.dumps({"deb": deb.name,
                                                            "version": versions[0]}) + "\n")
        shutil.rmtree(unpack, ignore_errors=True)

    def _rust_src_ready(self) -> bool:
        stamp = self.s.rust_src / ".pytools-version"
        version = rustc_version(self.runner)
        return stamp.exists() and version is not None and stamp.read_text().strip() == fmt(version)

    def rust_src(self, apt: PrivateApt) -> None:
        version = rustc_version(self.runner)
        if version is None:
            raise MissingToolsError("rustc not found", "install Rust with rustup first")
        wanted = fmt(version)
        candidates = [v for v in backports_versions(self.runner, apt, "rust-src")
                      if v.split("+")[0] == wanted]
        if not candidates:
            raise PytoolsError(
                f"no rust-src {wanted} in {BACKPORTS_SUITE}",
                "the rust-src package must match rustc exactly; install a rustc whose "
                "version Debian ships as rust-src",
            )
        deb = self._download(apt, "rust-src", candidates[0])
        shutil.rmtree(self.s.rust_src, ignore_errors=True)
        self.say(f"unpacking {deb.name} into {self.s.rust_src}")
        done = self.runner.run(["dpkg-deb", "-x", str(deb), str(self.s.rust_src)])
        _check(done.returncode, "dpkg-deb -x rust-src", done.lines)
        if not (self.s.rust_lib_src / "core").is_dir():
            raise PytoolsError(f"rust-src has no library/core under {self.s.rust_lib_src}")
        (self.s.rust_src / ".pytools-version").write_text(wanted + "\n")

    # bindgen, ccache, guest tools ----------------------------------------

    def bindgen(self) -> None:
        found = bindgen_version(self.runner, self.s.bindgen)
        if found is not None and found >= parse_version(BINDGEN_VERSION):  # type: ignore[operator]
            self.say(f"bindgen {fmt(found)}: {self.s.bindgen} (present)")
            return
        self.say(f"building bindgen-cli {BINDGEN_VERSION} with cargo (about 2 min)")
        done = self.runner.run(
            ["cargo", "install", "bindgen-cli", "--version", BINDGEN_VERSION, "--locked",
             "--root", str(self.s.bindgen.parent.parent)],
            env={"LIBCLANG_PATH": str(LIBCLANG_DIR)},
            sink=lambda line: self.say("  " + line.strip()) if "Compiling" not in line else None,
        )
        _check(done.returncode, "cargo install bindgen-cli", done.lines)

    def ccache(self) -> None:
        self.s.ccache_bin.mkdir(parents=True, exist_ok=True)
        self.s.ccache_dir.mkdir(parents=True, exist_ok=True)
        link = self.s.ccache_bin / f"clang{LLVM_SUFFIX}"
        ccache = shutil.which("ccache")
        if ccache is None:
            raise MissingToolsError("ccache not found after installing host packages")
        if not link.is_symlink() or Path(link.readlink()) != Path(ccache):
            link.unlink(missing_ok=True)
            link.symlink_to(ccache)
        self.say(f"ccache: {self.s.ccache_dir} (clang{LLVM_SUFFIX} routed through {link})")

    def guest_tools(self) -> None:
        for tool in ("vng", "virtme-run"):
            if shutil.which(tool) is None:
                raise MissingToolsError(
                    f"{tool} not on PATH",
                    "virtme-ng is a dependency of pytools: run `pip install -e .` in the repo",
                )
        self.say("virtme-ng: present")


def _deb_version(path: Path) -> str:
    # name_version_arch.deb, with ':' of an epoch encoded as %3a
    parts = path.name.split("_")
    return parts[1].replace("%3a", ":") if len(parts) >= 3 else ""


def bindgen_version(runner: Runner, path: Path) -> tuple[int, ...] | None:
    if not path.exists():
        return None
    done = runner.run([str(path), "--version"], env={"LIBCLANG_PATH": str(LIBCLANG_DIR)})
    return parse_version(" ".join(done.lines)) if done.returncode == 0 else None


def build_env(settings: Settings) -> dict[str, str]:
    """The environment every kernel ``make`` runs with."""
    import os

    return {
        "LLVM": LLVM_SUFFIX,
        "LIBCLANG_PATH": str(LIBCLANG_DIR),
        "RUST_LIB_SRC": str(settings.rust_lib_src),
        "CCACHE_DIR": str(settings.ccache_dir),
        "BINDGEN": str(settings.bindgen),
        "PATH": os.pathsep.join([str(settings.ccache_bin), str(settings.bindgen.parent),
                                 os.environ.get("PATH", "")]),
    }


# doctor --------------------------------------------------------------------


@dataclass
class Check:
    """One line of ``pytools doctor``."""

    name: str
    found: str
    required: str
    ok: bool
    fix: str

    def line(self) -> str:
        mark = "ok  " if self.ok else "MISS"
        text = f"{mark} {self.name:<18} found {self.found:<14} required {self.required}"
        if not self.ok:
            text += f"\n       fix: {self.fix}"
        return text


def _tool_version(runner: Runner, argv: list[str]) -> tuple[int, ...] | None:
    if shutil.which(argv[0]) is None:
        return None
    done = runner.run(argv)
    return parse_version(" ".join(done.lines[:2])) if done.returncode == 0 else (0,)


def checks(settings: Settings, runner: Runner) -> list[Check]:
    out: list[Check] = []
    rustc = rustc_version(runner)
    out.append(Check("rustc", fmt(rustc), ">= " + fmt(RUSTC_MIN),
                     rustc is not None and rustc >= RUSTC_MIN,
                     "install a Rust toolchain with rustup"))
    stamp = settings.rust_src / ".pytools-version"
    src = stamp.read_text().strip() if stamp.exists() else "missing"
    out.append(Check("rust-src", src, f"== rustc ({fmt(rustc)})", src == fmt(rustc),
                     "pytools setup (fetches Debian's rust-src matching rustc)"))
    bg = bindgen_version(runner, settings.bindgen)
    out.append(Check("bindgen", fmt(bg), ">= " + BINDGEN_VERSION,
                     bg is not None and bg >= parse_version(BINDGEN_VERSION),  # type: ignore[operator]
                     f"pytools setup (cargo install bindgen-cli --version {BINDGEN_VERSION})"))
    for tool, argv, minimum in (
        ("clang-19", ["clang-19", "--version"], (19, 0, 0)),
        ("ld.lld-19", ["ld.lld-19", "--version"], (19, 0, 0)),
        ("make", ["make", "--version"], (4, 0, 0)),
        ("flex", ["flex", "--version"], (2, 5, 35)),
        ("bison", ["bison", "--version"], (2, 0, 0)),
        ("ccache", ["ccache", "--version"], (4, 0, 0)),
        ("qemu-system-x86_64", ["qemu-system-x86_64", "--version"], (7, 0, 0)),
    ):
        version = _tool_version(runner, argv)
        out.append(Check(tool, fmt(version), ">= " + fmt(minimum),
                         version is not None and version >= minimum,
                         "pytools setup (apt-get install -t bookworm ...)"))
    libclang = sorted(LIBCLANG_DIR.glob("libclang.so*"))
    out.append(Check("libclang-19", "yes" if libclang else "missing", "present", bool(libclang),
                     "apt-get install -t bookworm libclang-19-dev"))
    for tool, fix in (("bc", "bc"), ("cpio", "cpio"), ("busybox", "busybox-static"),
                      ("udevadm", "udev"), ("depmod", "kmod"), ("patch", "patch")):
        path = shutil.which(tool)
        out.append(Check(tool, "yes" if path else "missing", "present", bool(path),
                         f"apt-get install -t bookworm {fix}"))
    for tool in ("vng", "virtme-run"):
        path = shutil.which(tool)
        out.append(Check(tool, "yes" if path else "missing", "on PATH", bool(path),
                         "pip install -e . (virtme-ng is a declared dependency)"))
    tree = settings.pristine_tree
    ok = (tree / ".pytools-pristine").exists()
    out.append(Check("kernel tree", "yes" if ok else "missing", str(tree), ok,
                     "pytools setup (fetches linux-source-7.3 from trixie-backports)"))
    return out


def doctor(settings: Settings, runner: Runner) -> int:
    from .vm import probe_accel

    results = checks(settings, runner)
    for check in results:
        print(check.line())
    accel = probe_accel(settings, runner)
    print(f"info accelerator       {accel.name}: {accel.reason}")
    missing = [c.name for c in results if not c.ok]
    if missing:
        print(f"doctor: {len(missing)} requirement(s) missing: {', '.join(missing)}")
        return MissingToolsError.exit_code
    print("doctor: all requirements met")
    return 0


def ensure_ready(settings: Settings, runner: Runner) -> None:
    """Run setup when doctor would report anything missing (on-demand setup)."""
    if any(not c.ok for c in checks(settings, runner)):
        Setup(settings, runner).run()
        still = [c.name for c in checks(settings, runner) if not c.ok]
        if still:
            raise MissingToolsError(f"still missing after setup: {', '.join(still)}",
                                    "run `pytools doctor` for the exact fix of each")

