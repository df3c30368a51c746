"""Measuring another build of meshsim: the benchmark again in a subprocess with the build forced.

The compiled build and its pure-Python fallback are chosen when meshsim is imported
(``MESHSIM_PURE=1`` forces the fallback), so a build other than this process's runs in a fresh
interpreter; ``meshsim.build()`` in that interpreter names the build that really ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import meshsim

BUILDS = ("pure", "compiled")
PURE_ENV = "MESHSIM_PURE"
RUN_PY = Path(__file__).resolve().parent / "run.py"


def current_build() -> str:
    """The build this process imported: ``meshsim.build()``, "pure" before builds existed."""
    return str(getattr(meshsim, "build", lambda: "pure")())


def build_env(build: str) -> dict[str, str]:
    """This process's environment with the build forced: the fallback by ``MESHSIM_PURE=1``,
    the compiled build by leaving the variable unset."""
    env = dict(os.environ)
    if build == "pure":
        env[PURE_ENV] = "1"
    else:
        env.pop(PURE_ENV, None)
    return env


def measure_build(build: str, customers: int, repeat: int) -> dict[str, Any] | None:
    """One build's run (its report printed as it goes), or None when that build is not
    installed here (the interpreter fell back to another)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        command = [sys.executable, str(RUN_PY), "--customers", str(customers),
                   "--repeat", str(repeat), "--json", str(out)]
        print(f"== build {build}: {PURE_ENV}={build_env(build).get(PURE_ENV, '(unset)')}",
              flush=True)
        subprocess.run(command, env=build_env(build), check=True)
        data: dict[str, Any] = json.loads(out.read_text())
    if data.get("build") != build:
        setting = build_env(build).get(PURE_ENV, "unset")
        print(f"the {build} build is not available here (meshsim.build() gave "
              f"{data.get('build')!r} with {PURE_ENV} {setting}): not reported", flush=True)
        return None
    return data
