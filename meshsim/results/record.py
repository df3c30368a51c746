"""Record levels: how much of a run is kept, and where (``--record``, ``record=``).

``all``: requests, calls and attempts; ``requests``: requests and calls (every hop's call as
its caller saw it), no attempt rows; ``summary``: no row tables stored and no rows held
(but see :func:`keeps_rows` for rollouts). With a run directory the stored rows
stream to Parquet as the run goes and leave memory; without one they stay in memory as
frames (a small run in a notebook). Summaries, time series, SLO checks and plots come
from online aggregates at every level, never from rows. Sweeps, ``check``, ``canary`` and
what-if run at ``summary``.
"""

from __future__ import annotations

from typing import Literal

from meshsim.results.parquet_rows import ROW_TABLES

RecordLevel = Literal["all", "requests", "summary"]
RECORD_LEVELS: tuple[RecordLevel, ...] = ("all", "requests", "summary")
_STORED: dict[str, tuple[str, ...]] = {
    "all": ROW_TABLES, "requests": ("requests", "calls"), "summary": (),
}


def record_level(value: str) -> RecordLevel:
    """``value`` as a record level; a ValueError naming the levels otherwise."""
    for level in RECORD_LEVELS:
        if value == level:
            return level
    raise ValueError(f"record={value!r}: expected one of {', '.join(RECORD_LEVELS)}")


def stored_tables(level: RecordLevel) -> tuple[str, ...]:
    """The row tables a run at ``level`` writes to its run directory."""
    return _STORED[level]


def keeps_attempts(level: RecordLevel) -> bool:
    """Whether attempt rows reach the attempts frame (only ``all`` stores them). The online
    aggregates see every attempt the scenario records, whatever the level."""
    return level == "all"


def keeps_rows(level: RecordLevel, *, has_rollout: bool, per_user: bool = False) -> bool:
    """Whether a run without a run directory holds its rows in memory as frames. ``summary``
    holds none, except in a scenario with a rollout: the rollout report's canary exposure
    (users hurt) follows call trees through the ``requests`` and ``calls`` rows; or with a
    workload's app client (``per_user``): its row and SLOs count user requests over the
    ``requests`` rows of their tries (docs/clients.md)."""
    return level != "summary" or has_rollout or per_user
