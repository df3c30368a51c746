"""Which build of the hot path runs: the compiled extensions or the pure-Python modules.

``pip install`` compiles the modules that have a ``.pxd`` next to them with Cython when a C
compiler is present (``setup.py``); their ``.py`` files stay the source and the fallback.
``MESHSIM_PURE=1`` in the environment makes every ``meshsim.*`` import use the ``.py`` source
even where a compiled extension sits next to it: a meta-path finder that knows only the source
loader, installed by ``meshsim/__init__.py`` before any other submodule is imported. This
module and ``meshsim/__init__.py`` are never compiled.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import (
    SOURCE_SUFFIXES,
    FileFinder,
    ModuleSpec,
    PathFinder,
    SourceFileLoader,
)
from types import ModuleType

PREFIX = __name__.rpartition(".")[0] + "."  # "meshsim."
ENV = "MESHSIM_PURE"


class PureFinder(MetaPathFinder):
    """Finds ``meshsim.*`` modules with a file finder that knows only ``.py`` sources."""

    def __init__(self) -> None:
        self._finders: dict[str, FileFinder] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if not fullname.startswith(PREFIX) or not path:
            return None
        for entry in path:
            finder = self._finders.get(entry)
            if finder is None:
                finder = self._finders[entry] = FileFinder(
                    entry, (SourceFileLoader, SOURCE_SUFFIXES))
            spec = finder.find_spec(fullname, target)
            if spec is not None and spec.loader is not None:
                return spec
        return None

    def invalidate_caches(self) -> None:
        for finder in self._finders.values():
            finder.invalidate_caches()


def pure_requested() -> bool:
    """``MESHSIM_PURE`` is set to anything but empty, 0, false or no."""
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no")


def install() -> None:
    """Put the source-only finder before the standard path finder when the environment asks
    for the pure build: ahead of the finder that would pick a compiled extension, behind any
    import hook installed earlier (which keeps seeing every import, as without it)."""
    if pure_requested() and not any(isinstance(f, PureFinder) for f in sys.meta_path):
        standard = [i for i, f in enumerate(sys.meta_path) if f is PathFinder]
        sys.meta_path.insert(standard[0] if standard else len(sys.meta_path), PureFinder())


def build() -> str:
    """``"compiled"`` when the hot path runs as compiled extensions, else ``"pure"``."""
    from meshsim.sim import kernel

    return "pure" if (kernel.__file__ or "").endswith(".py") else "compiled"
