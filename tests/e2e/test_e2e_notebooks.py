"""Every notebook in notebooks/ runs top to bottom without an error (DESIGN §7: notebook runs).

Each runs in a fresh kernel with its own folder as the working directory, as a user opening it
from a fresh clone would, so its relative paths (``../scenarios/...``) must hold. A notebook
added later is picked up by the glob; checkpoints are skipped.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from paths import ROOT

NOTEBOOKS = ROOT / "notebooks"
FOUND = sorted(
    path for path in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts
)
CELL_TIMEOUT = 600  # seconds: a hung kernel fails the test instead of the whole run


def test_there_are_notebooks() -> None:
    assert FOUND, f"no notebooks under {NOTEBOOKS}"


@pytest.mark.slow
@pytest.mark.parametrize("path", FOUND, ids=[str(p.relative_to(NOTEBOOKS)) for p in FOUND])
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:  # the failing cell's source and traceback, not the kernel's
        pytest.fail(f"{path.name}: a cell failed:\n{exc}", pytrace=False)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code), "a cell did not run"
