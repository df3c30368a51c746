"""Field types that carry units, and the one way schema code reports a problem.

Each type is a before-validator that dispatches on what the user wrote and calls
:mod:`meshsim.units`, so a wrong value gets one message saying what was expected instead of
one pydantic line per member of a union.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from meshsim.errors import UnitError
from meshsim.units import parse_duration, parse_latency_change, parse_probability, parse_rate

ERROR_TYPE = "meshsim"


def problem(message: str, field: Sequence[str | int] = ()) -> PydanticCustomError:
    """A validation error with our own message; ``field`` extends the location past the model."""
    return PydanticCustomError(ERROR_TYPE, "{message}", {"message": message, "field": tuple(field)})


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'concurrency'?"`` when a close match exists, else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def quoted(choices: Iterable[str]) -> str:
    return ", ".join(f"'{c}'" for c in choices)


def _units(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        try:
            return parse(value)
        except UnitError as exc:
            raise problem(str(exc)) from None

    return validate


def _positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise UnitError(f"must be a duration greater than zero, got {value!r}")
    return seconds


def choice(*options: str) -> BeforeValidator:
    """One of ``options``, with a did-you-mean for a near miss."""

    def validate(value: Any) -> Any:
        if value not in options:
            raise problem(
                f"expected one of {quoted(options)}, got {value!r}{did_you_mean(value, options)}"
            )
        return value

    return BeforeValidator(validate)


Duration = Annotated[float, BeforeValidator(_units(parse_duration))]
PositiveDuration = Annotated[float, BeforeValidator(_units(_positive_duration))]
Rate = Annotated[float, BeforeValidator(_units(parse_rate))]
Probability = Annotated[float, BeforeValidator(_units(parse_probability))]
LatencyChange = Annotated[tuple[float, float], BeforeValidator(_units(parse_latency_change))]
