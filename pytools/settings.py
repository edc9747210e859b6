"""Where pytools keeps things, and the user's defaults.

Defaults come from a TOML file (``$PYTOOLS_CONFIG`` or
``~/.config/pytools/config.toml``), for example::

    cache = "/var/cache/pytools"
    tree = "/home/me/linux"
    config = "debug"
    arch = "x86_64"

Command-line options override the file. Heavy state (kernel trees, build
directories, ccache, downloaded packages, bindgen) lives under the cache
directory, never in the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import toml

from .errors import PytoolsError

REPO = Path(__file__).resolve().parent.parent
KERNEL_SERIES = "7.3"
KERNEL_DEB = "linux-source-7.3"
SUPPORTED_ARCHES = ("x86_64",)


def _config_file() -> Path:
    env = os.environ.get("PYTOOLS_CONFIG")
    if env:
        return Path(env)
    return Path.home() / ".config" / "pytools" / "config.toml"


@dataclass(frozen=True)
class Settings:
    """Resolved locations and defaults."""

    cache: Path
    tree: Path | None
    config: str
    arch: str

    @property
    def pristine_tree(self) -> Path:
        """The Debian tree extracted by ``pytools setup``; never modified."""
        return self.cache / "src" / f"linux-source-{KERNEL_SERIES}"

    @property
    def kernel_tree(self) -> Path:
        """The tree builds start from: ``--tree`` or the pristine Debian tree."""
        return self.tree if self.tree is not None else self.pristine_tree

    @property
    def rust_src(self) -> Path:
        return self.cache / "rust-src"

    @property
    def rust_lib_src(self) -> Path:
        return self.rust_src / "usr" / "lib" / "rustlib" / "src" / "rust" / "library"

    @property
    def bindgen(self) -> Path:
        return self.cache / "bindgen" / "bin" / "bindgen"

    @property
    def ccache_dir(self) -> Path:
        return self.cache / "ccache"

    @property
    def ccache_bin(self) -> Path:
        """Masquerade directory: ``clang-19`` here is a symlink to ccache."""
        return self.cache / "ccache-bin"

    @property
    def apt_dir(self) -> Path:
        return self.cache / "apt"

    @property
    def debs(self) -> Path:
        return self.cache / "debs"

    @property
    def guest_build(self) -> Path:
        return self.cache / "guest"


def load(
    *,
    cache: str | None = None,
    tree: str | None = None,
    config: str | None = None,
    arch: str | None = None,
) -> Settings:
    """Merge the TOML defaults with command-line values."""
    path = _config_file()
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = toml.load(path)
        except (toml.TomlDecodeError, OSError) as exc:
            raise PytoolsError(f"cannot read {path}: {exc}") from exc
        unknown = set(data) - {"cache", "tree", "config", "arch"}
        if unknown:
            raise PytoolsError(f"{path}: unknown keys {sorted(unknown)}",
                               "allowed keys: cache, tree, config, arch")
    cache_dir = cache or os.environ.get("PYTOOLS_CACHE") or data.get("cache")
    resolved_cache = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "pytools"
    tree_value = tree or data.get("tree")
    chosen_arch = arch or data.get("arch") or "x86_64"
    if chosen_arch not in SUPPORTED_ARCHES:
        raise PytoolsError(f"unsupported arch {chosen_arch!r}",
                           f"supported: {', '.join(SUPPORTED_ARCHES)}")
    return Settings(
        cache=resolved_cache.expanduser().resolve(),
        tree=Path(tree_value).expanduser().resolve() if tree_value else None,
        config=config or data.get("config") or "minimal",
        arch=chosen_arch,
    )
