"""Columnar recorder: per-event tallies in typed columns, time-weighted levels per bucket."""

from meshsim.metrics.levels import Level
from meshsim.metrics.recorder import ATTEMPTS, CALLS, LEVELS, REQUESTS, Recorder, Recording

__all__ = ["ATTEMPTS", "CALLS", "LEVELS", "REQUESTS", "Level", "Recorder", "Recording"]
