"""The invariant checker itself: it must catch what it claims to catch."""

from __future__ import annotations

import numpy as np
import pytest
from builders import deployment, model

from meshsim.metrics.invariants import InvariantError, check
from meshsim.model import Exponential
from meshsim.sim import Simulation


def recording():  # type: ignore[no-untyped-def]
    deps = [deployment("api", latency=Exponential(0.01), concurrency=2)]
    return Simulation(model(deps, rate=150, duration=5, seed=3)).run()


def test_a_real_run_passes() -> None:
    check(recording())


@pytest.mark.parametrize("breakage", ["lost request", "double finish", "end before start",
                                      "extra attempt row", "negative level",
                                      "held worker"])
def test_each_broken_bookkeeping_is_caught(breakage: str) -> None:
    rec = recording()
    if breakage == "lost request":
        rec.issued += 1
    elif breakage == "double finish":
        rec.requests["id"][1] = rec.requests["id"][0]
        rec.in_flight_at_end -= 0
    elif breakage == "end before start":
        rec.calls["end"][0] = rec.calls["start"][0] - 1.0
    elif breakage == "extra attempt row":
        rec.attempts["call_id"] = np.append(rec.attempts["call_id"], rec.attempts["call_id"][0])
    elif breakage == "held worker":
        rec.held_workers = ["api-0: request 3 waits for 1 answer(s) at step 1, 0 of its calls "
                            "[7] still open"]
    else:
        key = next(iter(rec.levels))
        rec.levels[key][0] = -1.0
    with pytest.raises(InvariantError):
        check(rec)
