"""A shorter run than the file's: ``--duration``, ``--set spec.duration`` or ``duration=``.

The file's own ``spec.duration`` must contain its faults, SLO windows and rollout (an error
otherwise, see :class:`meshsim.config.schema.ScenarioSpec`). A duration given from outside that
is shorter than the file's is a deliberate cut, so it is checked differently, once, here:

- it must leave time after the warm-up (an error, exit 2);
- a fault that would start at or after the new end never happens: it is left out, with a
  warning, so no verdict speaks of it;
- a fault still active at the new end stays, with a warning (its recovery "cannot tell");
- an SLO window the run no longer covers stays as written, with a warning: the check says
  "cannot tell" (see :mod:`meshsim.results.slo`);
- a rollout that would start at or after the new end never starts: a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from meshsim.config.yamlsrc import YamlPath, dotted
from meshsim.errors import ConfigWarning, Location, ScenarioError
from meshsim.model import Model
from meshsim.units import format_duration

CODE = "shortened"


class ShortenedRunWarning(UserWarning):
    """The Python API's ``duration=`` cut a fault, SLO window or rollout (see the module)."""

Locate = Callable[[YamlPath], Location]


def _s(seconds: float) -> str:
    return "0s" if seconds == 0 else format_duration(seconds)


def shorten(
    model: Model, duration: float, *, origin: Location, locate: Locate | None = None
) -> tuple[Model, list[ConfigWarning]]:
    """``model`` cut to ``duration`` seconds, and a warning for everything the cut changes.

    ``origin`` locates the override itself (errors); ``locate`` the fields it cuts.
    """
    where = locate or (lambda path: Location(path=dotted(path)))
    if duration <= model.warmup:
        raise ScenarioError(
            f"{_s(duration)} leaves nothing after the {_s(model.warmup)} warm-up (spec.warmup); "
            f"give more than {_s(model.warmup)}", origin,
        )
    cut = f"the run is shortened to {_s(duration)}"
    warnings: list[ConfigWarning] = []

    def warn(message: str, path: YamlPath) -> None:
        warnings.append(ConfigWarning(f"{cut}: {message}", where(path), CODE))

    kept = []
    for i, fault in enumerate(model.faults):
        path: YamlPath = ("spec", "faults", i)
        if fault.at >= duration:
            warn(f"this fault at {_s(fault.at)} never starts and is left out", path)
            continue
        kept.append(fault)
        if fault.end > duration:
            warn(f"this fault is still active at the end (until {_s(fault.end)}); whether "
                 "the system recovers from it cannot be told", path)
    for i, exp in enumerate(model.expectations):
        if exp.window is not None and exp.window[1] > duration:
            start, end = exp.window
            covered = "is past the end" if start >= duration else "ends past the end"
            warn(f"this SLO's window [{_s(start)}, {_s(end)}] {covered} of the run; its check "
                 "will say 'cannot tell'", ("spec", "expect", i, "window"))
    for rollout in model.rollouts:
        if rollout.start >= duration:
            warn(f"rollout {rollout.name} would start at {_s(rollout.start)}: it never starts",
                 ("spec", "rollout"))
    return replace(model, duration=duration, faults=tuple(kept)), warnings
