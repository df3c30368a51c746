"""Latency distributions as users write them: ``lognormal(median=5ms, p99=40ms)`` or a mapping.

Parsing produces the model's frozen distribution specs directly, except ``empirical(file)``,
which stays an :class:`EmpiricalRef` until compile time because reading the file needs the
scenario's directory.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from meshsim.config.fields import did_you_mean, problem, quoted
from meshsim.errors import UnitError
from meshsim.model import Constant, Distribution, Empirical, Exponential, Gamma, LogNormal
from meshsim.units import parse_duration


@dataclass(frozen=True)
class EmpiricalRef:
    """``empirical(samples.csv)``: a CSV path relative to the scenario file, read at compile."""

    file: str


LatencySpec = Distribution | EmpiricalRef

# Parameters each distribution takes, in positional order.
PARAMS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "exponential": ("mean",),
    "lognormal": ("median", "p99"),
    "gamma": ("mean", "cv"),
    "empirical": ("file",),
}
_CALL = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*\((.*)\)\s*$", re.DOTALL)


def parse_latency(value: object) -> LatencySpec:
    """Dispatch on what was written: a call string, a mapping, or a bare duration."""
    try:
        if isinstance(value, Mapping):
            return _from_mapping(value)
        if isinstance(value, str) and "(" in value:
            return _from_call(value)
        return Constant(parse_duration(value))
    except UnitError as exc:
        raise problem(str(exc)) from None


def _from_call(text: str) -> LatencySpec:
    match = _CALL.match(text)
    if not match and ")" not in text:
        raise UnitError(
            f"unclosed distribution {text!r}: inside a flow mapping {{...}} or list [...] a comma "
            "ends the value, so quote it: 'lognormal(median=5ms, p99=40ms)'"
        )
    if not match:
        raise UnitError(f"expected a distribution like 'exponential(10ms)', got {text!r}")
    name = match.group(1)
    args: dict[str, str] = {}
    params = _params_of(name)
    body = match.group(2).strip()
    for position, arg in enumerate(body.split(",") if body else []):
        key, sep, raw = arg.partition("=")
        if not sep:
            if position >= len(params):
                raise UnitError(f"{name}() takes {len(params)} argument(s), got {text!r}")
            key, raw = params[position], arg
        args[key.strip()] = raw.strip()
    return _build(name, args)


def _from_mapping(data: Mapping[object, object]) -> LatencySpec:
    name = data.get("dist")
    if name is None:
        raise UnitError("a distribution mapping needs 'dist' (constant, exponential, ...)")
    return _build(str(name), {str(k): v for k, v in data.items() if k != "dist"})


def _params_of(name: str) -> tuple[str, ...]:
    if name not in PARAMS:
        raise UnitError(
            f"unknown distribution {name!r}{did_you_mean(name, PARAMS)} "
            f"(expected one of {quoted(PARAMS)})"
        )
    return PARAMS[name]


def _build(name: str, args: Mapping[str, object]) -> LatencySpec:
    params = _params_of(name)
    for key in args:
        if key not in params:
            raise UnitError(
                f"{name} takes {quoted(params)}, not {key!r}{did_you_mean(key, params)}"
            )
    missing = [p for p in params if p not in args]
    if missing:
        raise UnitError(f"{name} needs {' and '.join(f'{p}=' for p in missing)}")
    return _BUILDERS[name](args)


def _duration(raw: object) -> float:
    """Call arguments are text; a bare number in them still gets the did-you-mean-'10ms' hint."""
    if isinstance(raw, str):
        number = re.fullmatch(r"\s*([0-9]+)(\.[0-9]*)?\s*", raw)
        if number:
            raw = float(raw) if number.group(2) else int(number.group(1))
    return parse_duration(raw)


def _positive(args: Mapping[str, object], key: str, name: str) -> float:
    seconds = _duration(args[key])
    if seconds <= 0:
        raise UnitError(f"{name} {key} must be greater than zero, got {args[key]!r}")
    return seconds


def _constant(args: Mapping[str, object]) -> LatencySpec:
    return Constant(_duration(args["value"]))


def _exponential(args: Mapping[str, object]) -> LatencySpec:
    return Exponential(_positive(args, "mean", "exponential"))


def _lognormal(args: Mapping[str, object]) -> LatencySpec:
    median = _positive(args, "median", "lognormal")
    p99 = _positive(args, "p99", "lognormal")
    if p99 <= median:
        raise UnitError(
            f"lognormal p99 ({args['p99']}) must be greater than its median ({args['median']})"
        )
    return LogNormal(median, p99)


def _gamma(args: Mapping[str, object]) -> LatencySpec:
    mean = _positive(args, "mean", "gamma")
    try:
        cv = float(str(args["cv"]))
    except ValueError:
        raise UnitError(f"gamma cv must be a number like 0.5, got {args['cv']!r}") from None
    if not cv > 0:
        raise UnitError(f"gamma cv must be greater than zero, got {args['cv']!r}")
    return Gamma(mean, cv)


def _empirical(args: Mapping[str, object]) -> LatencySpec:
    file = str(args["file"]).strip().strip("'\"")
    if not file:
        raise UnitError("empirical needs a CSV file, like empirical(samples.csv)")
    return EmpiricalRef(file)


_BUILDERS = {
    "constant": _constant,
    "exponential": _exponential,
    "lognormal": _lognormal,
    "gamma": _gamma,
    "empirical": _empirical,
}


class SamplesError(ValueError):
    """A problem inside a samples CSV, with the 1-based row it is on (None: the whole file)."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


_SCALE = {"_ms": 1e-3, "_us": 1e-6}


def read_samples(path: Path) -> Empirical:
    """Latencies in seconds from a one-column CSV (optional header; ``*_ms``/``*_us`` scale)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [(n, r) for n, r in enumerate(csv.reader(handle), 1) if "".join(r).strip()]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SamplesError(f"not a CSV text file ({exc})") from None
    if not rows:
        raise SamplesError("no samples: the file is empty")
    scale = 1.0
    first = rows[0][1][0].strip()
    if not _numeric(first):
        header = first.lower()
        scale = next((s for suffix, s in _SCALE.items() if header.endswith(suffix)), 1.0)
        rows = rows[1:]
    samples = tuple(_sample(row, n, scale) for n, row in rows)
    if not samples:
        raise SamplesError("no samples: the file has only a header")
    return Empirical(samples, source=str(path))


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        try:
            parse_duration(text)
        except UnitError:
            return False
    return True


def _sample(row: list[str], number: int, scale: float) -> float:
    cells = [c for c in row if c.strip()]
    if len(cells) != 1:
        raise SamplesError(f"expected one column, got {len(cells)}", number)
    text = cells[0].strip()
    try:
        value = float(text) * scale
    except ValueError:
        try:
            value = parse_duration(text)
        except UnitError:
            raise SamplesError(f"expected a number or a duration, got {text!r}", number) from None
    if value < 0:
        raise SamplesError(f"latency samples must not be negative, got {text!r}", number)
    return value
