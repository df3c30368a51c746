"""The recovery verdict on hand-made request streams with known shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from builders import deployment, model

from meshsim.model import Constant, Fault, FaultTarget
from meshsim.results.recovery import verdicts


def stream(ok_share_by_second: list[float], per_second: int = 100) -> pd.DataFrame:
    rows = []
    for second, share in enumerate(ok_share_by_second):
        n_ok = round(share * per_second)
        for i in range(per_second):
            rows.append((second + i / per_second, 200 if i < n_ok else 503))
    start = np.array([r[0] for r in rows])
    return pd.DataFrame({
        "workload": "users", "start": start, "end": start + 0.01,
        "status": np.array([r[1] for r in rows]),
    })


def faulted(duration: float) -> object:
    m = model([deployment("api", latency=Constant(0.001))], rate=1, duration=duration,
              warmup=5, faults=(Fault(at=20, duration=5, target=FaultTarget("api")),))
    return m


def test_quick_recovery_is_timed_from_the_fault_end() -> None:
    shares = [1.0] * 20 + [0.2] * 5 + [0.5] * 3 + [1.0] * 32
    (v,) = verdicts(faulted(60), stream(shares))  # type: ignore[arg-type]
    assert v.recovered and v.recovery_time == 3
    assert "recovered 3s after" in v.sentence


def test_collapse_that_outlives_its_trigger_is_not_recovery() -> None:
    shares = [1.0] * 20 + [0.2] * 40
    (v,) = verdicts(faulted(60), stream(shares))  # type: ignore[arg-type]
    assert not v.recovered
    assert v.final_success < 0.3 and "did not recover" in v.sentence


def test_a_brief_good_spell_before_relapse_does_not_count() -> None:
    shares = [1.0] * 20 + [0.2] * 5 + [1.0] * 15 + [0.1] * 20
    (v,) = verdicts(faulted(60), stream(shares))  # type: ignore[arg-type]
    assert not v.recovered


def test_no_faults_no_verdict() -> None:
    m = model([deployment("api", latency=Constant(0.001))], rate=1, duration=30)
    assert verdicts(m, stream([1.0] * 30)) == []
