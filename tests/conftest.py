import sys
from pathlib import Path

# Shared test helpers (builders, closed forms, seeds, paths) are imported by bare name.
sys.path.insert(0, str(Path(__file__).parent / "helpers"))


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


TIERS = ("conformance", "oracle", "e2e", "golden")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test under tests/<tier>/ carries the tier's marker, so ``-m`` selects by folder."""
    root = Path(__file__).parent
    for item in items:
        parts = item.path.relative_to(root).parts
        if len(parts) > 1 and parts[0] in TIERS:
            item.add_marker(parts[0])
