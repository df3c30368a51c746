import sys
from pathlib import Path

# Test helpers (builders, closed forms) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))


import pytest

from meshsim.metrics.invariants import check
from meshsim.sim import engine


@pytest.fixture(autouse=True)
def _invariants_on_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every simulation any test runs must satisfy the DESIGN §7 invariants."""
    run = engine.Simulation.run

    def checked(self: engine.Simulation, *args: object, **kwargs: object) -> object:
        recording = run(self, *args, **kwargs)  # type: ignore[arg-type]
        check(recording)
        return recording

    monkeypatch.setattr(engine.Simulation, "run", checked)
