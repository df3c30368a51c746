"""Build meshsim's optional compiled hot path (docs/performance.md, "The compiled build").

Every module with a ``.pxd`` next to its ``.py`` is compiled by Cython ("augmenting .pxd"
files: the ``.py`` stays the source and the pure-Python fallback). No C compiler, no Cython,
or ``MESHSIM_NO_COMPILE=1`` at build time: a pure-Python install, with one line saying so.
``MESHSIM_PURE=1`` at run time selects the pure modules of a compiled install.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).parent
# -ffp-contract=off: no fused multiply-add, so every float is the one CPython computes and
# both builds give identical frames (benchmarks/identical.py).
CFLAGS = ["/fp:precise"] if os.name == "nt" else ["-O2", "-g0", "-ffp-contract=off"]
DIRECTIVES = {"language_level": 3, "annotation_typing": False, "binding": True}
SHARED_UTILITY = "meshsim._cyutility"


class OptionalBuildExt(build_ext):
    """Compile the hot path; any failure leaves the pure-Python modules in charge.

    All or nothing: the compiled modules cimport each other's types, so a partial set would
    not import. On any failure the ones already built are removed.
    """

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:  # compile the modules side by side, as ``build_ext -j`` would
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, a compile error
            for ext in self.extensions:
                path = Path(self.get_ext_fullpath(ext.name))
                path.unlink(missing_ok=True)
            print(f"meshsim: compiled hot path not built ({type(exc).__name__}: {exc}); "
                  "the pure-Python modules will be used", file=sys.stderr)


def compiled_modules() -> list[str]:
    """The modules that have C declarations: ``meshsim/**/X.py`` with ``X.pxd`` beside it."""
    return sorted(str(pxd.with_suffix(".py").relative_to(ROOT))
                  for pxd in (ROOT / "meshsim").rglob("*.pxd"))


def extensions() -> list[Extension]:
    if os.environ.get("MESHSIM_NO_COMPILE"):
        print("meshsim: MESHSIM_NO_COMPILE set; pure-Python install", file=sys.stderr)
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("meshsim: Cython not available; pure-Python install", file=sys.stderr)
        return []
    exts = [Extension(path[:-3].replace(os.sep, "."), [path], extra_compile_args=CFLAGS)
            for path in compiled_modules()]
    # Cython's memoryview code (the typed arrays of the kernel, the random streams and the
    # recorder's rows) in one shared module, instead of compiled again into every module
    # that cimports one of those types (most of them): half the build's compile time.
    exts.append(Extension(SHARED_UTILITY, [], extra_compile_args=CFLAGS))
    try:
        return list(cythonize(exts, quiet=True, compiler_directives=DIRECTIVES,
                              nthreads=os.cpu_count() or 1,
                              shared_utility_qualified_name=SHARED_UTILITY))
    except Exception as exc:
        print(f"meshsim: Cython failed ({exc}); pure-Python install", file=sys.stderr)
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
