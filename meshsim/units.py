"""Parsing of the unit conventions of scenario files.

Durations ``250us|ms|s|m|h``, rates ``N/s|N/m``, percentages and latency changes (``x10``,
``+50ms``). Values are plain floats in seconds (or per second) once parsed, so the engine never
sees units.
"""

from __future__ import annotations

import math
import re

from meshsim.errors import UnitError

_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(us|µs|ms|s|m|h)\s*$")
_RATE_UNITS = {"s": 1.0, "m": 1.0 / 60.0, "h": 1.0 / 3600.0}
_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*/\s*(s|m|h)\s*$")


def parse_duration(value: object, *, allow_zero: bool = True) -> float:
    """Seconds from ``'250us'``, ``'5ms'``, ``'30s'``, ``'2m'``, ``'1h'`` or a bare ``0``."""
    if isinstance(value, bool):
        raise UnitError(f"expected a duration like '30s' or '5ms', got {value!r}")
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        _finite(value, value, "duration")
        raise UnitError(
            f"expected a duration with a unit (us, ms, s, m, h), got the bare number {value!r}; "
            f"did you mean '{value}s' or '{value}ms'?"
        )
    if not isinstance(value, str):
        raise UnitError(f"expected a duration like '30s' or '5ms', got {value!r}")
    match = _DURATION.match(value)
    if not match:
        if value.strip() == "0":
            return 0.0
        raise UnitError(
            f"expected a duration like '30s' or '5ms' (units us, ms, s, m, h), got {value!r}"
        )
    seconds = _finite(float(match.group(1)) * _DURATION_UNITS[match.group(2)], value, "duration")
    if seconds == 0 and not allow_zero:
        raise UnitError(f"duration must be greater than zero, got {value!r}")
    return seconds


def parse_rate(value: object) -> float:
    """Requests per second from ``'400/s'``, ``'600/m'``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnitError(f"expected a rate like '400/s', got {value!r}")
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        _finite(value, value, "rate")
        raise UnitError(
            f"expected a rate with a unit like '{value}/s', got the bare number {value}"
        )
    match = _RATE.match(value)
    if not match:
        raise UnitError(f"expected a rate like '400/s' or '600/m', got {value!r}")
    return _finite(float(match.group(1)) * _RATE_UNITS[match.group(2)], value, "rate")


def parse_probability(value: object, what: str = "probability") -> float:
    """A share in [0, 1] from ``0.05`` or ``'5%'``."""
    if isinstance(value, bool):
        raise UnitError(f"expected a {what} between 0 and 1, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            share = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError as exc:
            raise UnitError(f"expected a {what} like 0.05 or '5%', got {value!r}") from exc
    elif isinstance(value, int | float):
        share = float(value)
    else:
        raise UnitError(f"expected a {what} between 0 and 1, got {value!r}")
    if not 0.0 <= share <= 1.0:
        raise UnitError(f"{what} must be between 0 and 1 (or 0% and 100%), got {value!r}")
    return share


def parse_latency_change(value: object) -> tuple[float, float]:
    """``(factor, added_seconds)`` from ``'x10'`` (multiply) or ``'+50ms'`` (add)."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("x", "×", "*"):
            try:
                factor = float(text[1:])
            except ValueError as exc:
                raise UnitError(f"expected a factor like 'x10', got {value!r}") from exc
            if factor <= 0:
                raise UnitError(f"latency factor must be positive, got {value!r}")
            return _finite(factor, value, "latency factor"), 0.0
        if text.startswith("+"):
            return 1.0, parse_duration(text[1:])
    raise UnitError(
        f"expected a latency change like 'x10' (multiply) or '+50ms' (add), got {value!r}"
    )


def _finite(number: float, written: object, what: str) -> float:
    """``1e400s`` overflows to infinity and ``xnan`` parses: neither is a value to simulate."""
    if not math.isfinite(number):
        raise UnitError(f"{what} {written!r} is not a finite number")
    return number


def format_duration(seconds: float) -> str:
    """Short human form: ``'850us'``, ``'12.5ms'``, ``'3.2s'``."""
    if seconds != seconds:  # NaN
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g}ms"
    return f"{seconds:.3g}s"
