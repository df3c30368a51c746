"""The console script's entry: Ctrl-C while the command line is still importing ends with one
line and exit 130, as Ctrl-C during a run does, never a traceback; and ``import meshsim``
stays light (the public names load on first use)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import meshsim

# Delivers SIGINT to the process at the moment the command line's main module is imported:
# the interrupt lands inside the imports, deterministically, whatever the machine's speed.
INTERRUPT_DURING_IMPORT = """\
import os, signal, sys

class _Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "meshsim.cli.main":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, _Interrupt())
"""


def test_ctrl_c_during_imports_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sitecustomize.py").write_text(INTERRUPT_DURING_IMPORT)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(tmp_path), os.environ.get("PYTHONPATH", "")) if p))
    proc = meshsim("--help", cwd=tmp_path)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "interrupted"
    assert proc.stdout == ""


def test_importing_meshsim_loads_neither_pandas_nor_the_simulator() -> None:
    code = ("import sys, meshsim; heavy = [m for m in ('pandas', 'matplotlib', 'simpy', "
            "'meshsim.api') if m in sys.modules]; print(heavy, meshsim.__version__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert proc.stdout.startswith("[] "), proc.stdout


def test_public_names_load_on_first_use() -> None:
    import meshsim

    for name in meshsim.__all__:
        assert getattr(meshsim, name) is not None, name
    assert set(meshsim.__all__) <= set(dir(meshsim))
    with pytest.raises(AttributeError, match="no attribute 'simulation'"):
        meshsim.simulation  # noqa: B018  (a typo is an AttributeError, not a lazy import)
