"""The two builds of the hot path (meshsim/_build.py, setup.py): which one runs, and that
``MESHSIM_PURE=1`` really selects the ``.py`` sources. That both give identical frames is the
golden tier's job (tests/golden), which .ci/run runs under each build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

import meshsim
from meshsim import _build

PROBE = (
    "import sys, meshsim, meshsim.api, meshsim.sim.engine\n"
    "mods = [m for name, m in sorted(sys.modules.items()) if name.startswith('meshsim')]\n"
    "print(meshsim.build())\n"
    "print(*[m.__file__ for m in mods if getattr(m, '__file__', None)], sep='\\n')\n"
)


def _probe(pure: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != _build.ENV}
    if pure is not None:
        env[_build.ENV] = pure
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return out.stdout.split()


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_meshsim_pure_loads_every_module_from_its_py_source(value: str) -> None:
    build, *files = _probe(value)
    assert build == "pure"
    assert files and all(f.endswith(".py") for f in files), [
        f for f in files if not f.endswith(".py")]


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_meshsim_pure_off_values_do_not_force_the_pure_build(value: str) -> None:
    assert _probe(value)[0] == _probe(None)[0]


def test_the_expected_build_runs() -> None:
    """.ci/run installs with a C compiler and says which build it expects: a compile that
    silently failed would otherwise pass every test on the pure build."""
    expected = os.environ.get("MESHSIM_EXPECT_BUILD")
    if not expected:
        pytest.skip("MESHSIM_EXPECT_BUILD not set (.ci/run sets it)")
    assert meshsim.build() == expected


def test_a_compiled_build_compiled_exactly_the_declared_modules() -> None:
    """Every module with a .pxd is compiled, and nothing else but the one module of Cython
    code they share (setup.py's rule)."""
    if meshsim.build() != "compiled":
        pytest.skip("pure-Python build")
    package = Path(meshsim.__file__).parent
    declared = {p.with_suffix("") for p in package.rglob("*.pxd")}
    built = {p.parent / p.name.split(".")[0] for p in package.rglob("*.so")}
    assert built == declared | {package / "_cyutility"}


def test_every_pxd_declares_a_module_that_exists() -> None:
    for pxd in (ROOT / "meshsim").rglob("*.pxd"):
        assert pxd.with_suffix(".py").exists(), pxd
