"""The recovery verdict on hand-made request streams with known shapes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from builders import deployment, model

from meshsim.model import Constant, Fault, FaultTarget
from meshsim.results.recovery import frame, open_per_second, verdicts


def stream(ok_share_by_second: list[float], per_second: int = 100) -> pd.DataFrame:
    rows = []
    for second, share in enumerate(ok_share_by_second):
        n_ok = round(share * per_second)
        for i in range(per_second):
            rows.append((second + i / per_second, 200 if i < n_ok else 503))
    start = np.array([r[0] for r in rows])
    return pd.DataFrame({
        "id": np.arange(len(start)), "workload": "users", "start": start, "end": start + 0.01,
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


def faulted_at(at: float, length: float, duration: float, *, timeout: float = 0.0,
               warmup: float = 5.0) -> object:
    return model([deployment("api", latency=Constant(0.001))], rate=1, duration=duration,
                 warmup=warmup, timeout=timeout,
                 faults=(Fault(at=at, duration=length, target=FaultTarget("api")),))


def test_a_late_fault_with_little_data_after_it_cannot_tell() -> None:
    # the fault ends 5 s before the run does: 5 s of (good) data cannot show 10 s of holding
    shares = [1.0] * 40 + [0.2] * 15 + [1.0] * 5
    (v,) = verdicts(faulted_at(40, 15, 60), stream(shares))  # type: ignore[arg-type]
    assert v.outcome == "cannot tell" and v.recovered is None
    assert "only 5s of data after it" in v.sentence and "did not recover" not in v.sentence


def test_the_workload_timeout_does_not_hide_finished_requests() -> None:
    # retry-timeout's shape: a 15 s timeout and a fault ending 10 s before the end. Every
    # request finished, so the 10 s after the fault are data and show the recovery.
    shares = [1.0] * 40 + [0.5] * 10 + [1.0] * 10
    m = faulted_at(40, 10, 60, timeout=15.0)
    (v,) = verdicts(m, stream(shares), issued=6000)  # type: ignore[arg-type]
    assert v.outcome == "recovered" and v.recovered is True and v.recovery_time == 0
    assert v.data_after == 10


def test_requests_open_at_the_end_are_no_data() -> None:
    # the requests issued in the last 3 s never finished: they are neither ok nor failed. The
    # first of them may have been issued just after the last finished one (56.99 s), so 6 s
    # of known data remain after the fault: too few to call it
    shares = [1.0] * 40 + [0.5] * 10 + [1.0] * 10
    requests = stream(shares)
    finished = requests[requests["start"] < 57]
    m = faulted_at(40, 10, 60, timeout=15.0)
    (v,) = verdicts(m, finished, issued=len(requests))  # type: ignore[arg-type]
    assert v.outcome == "cannot tell" and v.data_after == 6
    assert "had not all finished" in v.sentence


def test_open_requests_are_placed_between_their_neighbours() -> None:
    requests = pd.DataFrame({"id": [0, 1, 3, 4], "start": [0.2, 1.5, 2.5, 2.7]})
    # id 2 lies between 1.5 s and 2.5 s; ids 5 and 6 after 2.7 s, to the end
    assert list(open_per_second(requests, 7, 5.0)) == [0, 1, 3, 2, 2]


def test_no_request_before_the_first_fault_is_no_baseline() -> None:
    shares = [0.2] * 10 + [1.0] * 50
    (v,) = verdicts(faulted_at(0, 10, 60, warmup=0), stream(shares))  # type: ignore[arg-type]
    assert v.outcome == "cannot tell" and math.isnan(v.baseline)
    assert "no request was issued before the first fault" in v.sentence


def test_a_fault_at_the_end_of_warmup_measures_the_baseline_inside_it() -> None:
    shares = [0.9] * 5 + [0.2] * 5 + [0.9] * 50
    (v,) = verdicts(faulted_at(5, 5, 60, warmup=5), stream(shares))  # type: ignore[arg-type]
    assert v.outcome == "recovered" and v.baseline == pytest.approx(0.9)
    assert v.baseline_source == "measured 0s-5s (inside the warm-up)"
    assert "90.0% baseline measured 0s-5s (inside the warm-up)" in v.sentence


def test_a_fault_lasting_to_the_end_cannot_tell() -> None:
    shares = [1.0] * 40 + [0.2] * 20
    (v,) = verdicts(faulted_at(40, 30, 60), stream(shares))  # type: ignore[arg-type]
    assert v.outcome == "cannot tell" and "lasts until the end of the run" in v.sentence


def test_a_recovery_too_recent_to_have_held_cannot_tell() -> None:
    shares = [1.0] * 20 + [0.2] * 30 + [1.0] * 10 + [0.2] * 5 + [1.0] * 5
    (v,) = verdicts(faulted(70), stream(shares))  # type: ignore[arg-type]
    assert v.outcome == "cannot tell" and "only for the last 5s" in v.sentence


def test_the_frame_has_three_states() -> None:
    late = verdicts(faulted_at(40, 15, 60), stream([1.0] * 60))  # type: ignore[arg-type]
    collapsed = verdicts(faulted(60), stream([1.0] * 20 + [0.2] * 40))  # type: ignore[arg-type]
    out = frame([*late, *collapsed])
    assert list(out["outcome"]) == ["cannot tell", "collapsed"]
    assert out["recovered"].isna().iloc[0] and out["recovered"].iloc[1] == False  # noqa: E712


def test_no_traffic_after_the_fault_is_no_data_not_unfinished_requests() -> None:
    shares = [1.0] * 40 + [0.2] * 10
    requests = stream(shares)  # the workload stops issuing at 50 s, the run goes on to 60 s
    (v,) = verdicts(faulted_at(40, 10, 60), requests, issued=len(requests))  # type: ignore[arg-type]
    assert v.outcome == "cannot tell" and v.data_after == 0
    assert "no request was issued from 50s" in v.sentence and "finished" not in v.sentence


def test_cannot_tell_still_reports_the_success_it_saw() -> None:
    shares = [1.0] * 40 + [0.2] * 15 + [0.0] * 5
    (v,) = verdicts(faulted_at(40, 15, 60), stream(shares))  # type: ignore[arg-type]
    assert v.outcome == "cannot tell" and v.final_success == 0.0
