"""Field types that carry units, and the one way schema code reports a problem.

Each type is a before-validator that dispatches on what the user wrote and calls
:mod:`meshsim.units`, so a wrong value gets one message saying what was expected instead of
one pydantic line per member of a union.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from meshsim.config import limits
from meshsim.config.limits import Limit
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


def _units(parse: Callable[[Any], Any], limit: Limit | None = None) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        try:
            parsed = parse(value)
        except UnitError as exc:
            raise problem(str(exc)) from None
        if limit is not None and limit.exceeded(parsed):
            raise problem(limit.message(parsed))
        return parsed

    return validate


def within(limit: Limit, ge: float | None = None) -> Any:
    """The limit as schema metadata (``le=`` and why), for the generated format reference.

    Put it before any validator in ``Annotated``: constraints after a validator are not
    shown in the JSON schema as ``maximum``/``minimum``.
    """
    return Field(ge=ge, le=limit.maximum, json_schema_extra={"x-limit": limit.why})


def whole(limit: Limit | None = None) -> BeforeValidator:
    """A whole number at most ``limit``; YAML's ``true``/``yes`` is not the number 1."""

    def validate(value: Any) -> Any:
        if isinstance(value, bool):
            raise problem(
                f"expected a whole number, got {str(value).lower()} (YAML reads true, yes and "
                "on as booleans)"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise problem(f"expected a whole number, got {value!r}")
        number = int(value) if isinstance(value, str) and value.strip().isdecimal() else value
        if limit is not None and isinstance(number, int | float) and limit.exceeded(number):
            raise problem(limit.message(number))
        return value

    return BeforeValidator(validate)


def number() -> BeforeValidator:
    """A finite real number; a boolean is refused rather than read as 0 or 1."""

    def validate(value: Any) -> Any:
        if isinstance(value, bool):
            raise problem(f"expected a number, got {str(value).lower()}")
        if isinstance(value, float) and not math.isfinite(value):
            raise problem(f"expected a finite number, got {value!r}")
        return value

    return BeforeValidator(validate)


def sized(limit: Limit) -> BeforeValidator:
    """At most ``limit`` items in a list or mapping, said before any item is validated."""

    def validate(value: Any) -> Any:
        if isinstance(value, list | dict) and limit.exceeded(len(value)):
            raise problem(limit.message(len(value)))
        return value

    return BeforeValidator(validate)


def sized_within(limit: Limit) -> Any:
    return Field(max_length=int(limit.maximum), json_schema_extra={"x-limit": limit.why})


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


Duration = Annotated[
    float, within(limits.DURATION, ge=0), BeforeValidator(_units(parse_duration, limits.DURATION))
]
PositiveDuration = Annotated[
    float, within(limits.DURATION), BeforeValidator(_units(_positive_duration, limits.DURATION))
]
Rate = Annotated[float, within(limits.RATE, ge=0), BeforeValidator(_units(parse_rate, limits.RATE))]
Probability = Annotated[float, BeforeValidator(_units(parse_probability))]
LatencyChange = Annotated[tuple[float, float], BeforeValidator(_units(parse_latency_change))]
