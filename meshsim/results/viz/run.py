"""What the viz views read: a run's frames, who is who (:class:`MeshInfo`) and a time window.

Built from an in-memory :class:`~meshsim.results.Results` or from a run directory through
:func:`~meshsim.results.store.load_run`; the views never look at files themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from meshsim.errors import MeshsimError
from meshsim.results.viz.mesh import MeshInfo, mesh_info

if TYPE_CHECKING:
    from meshsim.results.results import Results


class VizError(MeshsimError):
    """A view that cannot be drawn from this run (a bad window, no attempts recorded, ...)."""


@dataclass(frozen=True)
class Window:
    """Calls and attempts that *start* in ``[since, until)``, as the run's summary counts."""

    since: float
    until: float

    @property
    def span(self) -> float:
        return self.until - self.since

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        t = frame["start"].to_numpy()
        return (t >= self.since) & (t < self.until)


@dataclass(frozen=True)
class VizRun:
    """One run as the views see it."""

    name: str
    requests: pd.DataFrame
    calls: pd.DataFrame
    attempts: pd.DataFrame
    events: pd.DataFrame
    info: MeshInfo
    warmup: float
    duration: float

    @property
    def default_window(self) -> Window:
        """After warm-up to the end of the run, as ``meshsim run``'s golden table."""
        return Window(self.warmup, self.duration)

    def window(
        self, since: float | None = None, until: float | None = None, last: float | None = None,
    ) -> Window:
        """``--since/--until`` (seconds of simulated time) or linkerd's ``-t`` (the last
        ``last`` seconds of the run); unset ends default to warm-up and the run's end."""
        if last is not None:
            if since is not None:
                raise VizError("give either a time window (-t) or --since, not both")
            since = max(0.0, (until if until is not None else self.duration) - last)
        lo = self.warmup if since is None else since
        hi = self.duration if until is None else until
        if not hi > lo:
            raise VizError(f"empty time window [{lo:g}s, {hi:g}s): it must end after it starts")
        return Window(lo, hi)

    def with_frames(self, **frames: pd.DataFrame) -> VizRun:
        return replace(self, **frames)  # type: ignore[arg-type]


def from_results(results: Results) -> VizRun:
    return VizRun(
        name=results.name, requests=results.requests, calls=results.calls,
        attempts=results.attempts, events=results.events, info=mesh_info(results.model),
        warmup=results.warmup, duration=results.duration,
    )


def from_run_dir(path: str | Path) -> VizRun:
    """A run directory written by ``meshsim run`` (``run.json`` carries ``mesh_info``)."""
    from meshsim.results.store import load_run  # store imports viz.mesh: import it late

    stored = load_run(path)
    raw = stored.info.get("mesh_info")
    if not isinstance(raw, dict):
        raise VizError(f"{stored.path}: run.json has no mesh_info (written by an older "
                       "meshsim): run the scenario again")
    return VizRun(
        name=stored.name, requests=stored.requests, calls=stored.calls,
        attempts=stored.attempts, events=stored.events, info=MeshInfo.from_json(raw),
        warmup=stored.warmup, duration=stored.duration,
    )
