"""How one scenario field reads in the reference: its type as a user writes it, its default,
its bounds and why.

A duration, a rate, a probability or a latency distribution is recognised by the validator
objects its ``Annotated`` holds; bounds come from ``le=``/``ge=`` and the ``x-limit`` reasons of
:mod:`meshsim.config.limits`. Apart from :mod:`.reference`, which walks the models and lays out
the document, because this is the reading of pydantic's field metadata.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from meshsim.config import fields, schema, schema_failures
from meshsim.units import format_duration

# Field types that carry a unit, recognised by the validator objects their Annotated holds.
_KINDS: tuple[tuple[Any, str], ...] = (
    (fields.PositiveDuration, "duration > 0"),
    (fields.Duration, "duration"),
    (fields.Rate, "rate"),
    (fields.Probability, "probability"),
    (fields.LatencyChange, "latency change"),
    (schema.Latency, "latency distribution"),
    (schema_failures.ErrorLatency, "normal, immediate or a latency distribution"),
    (schema.Name, "name"),
)
_UNITS = {"duration > 0": "s", "duration": "s", "rate": "/s"}


def _markers() -> dict[int, str]:
    found = {}
    for annotation, kind in _KINDS:
        for meta in getattr(annotation, "__metadata__", ()):
            if not isinstance(meta, FieldInfo):
                found[id(meta)] = kind
    return found


_MARKERS = _markers()


# -- type names ---------------------------------------------------------------------------------
def _kind(metadata: list[Any]) -> str | None:
    return next((_MARKERS[id(m)] for m in metadata if id(m) in _MARKERS), None)


def _choices(metadata: list[Any]) -> tuple[str, ...] | None:
    """The options of a :func:`meshsim.config.fields.choice` validator, read from its closure."""
    for meta in metadata:
        func = getattr(meta, "func", None)
        code, cells = getattr(func, "__code__", None), getattr(func, "__closure__", None)
        if code is None or cells is None or "options" not in code.co_freevars:
            continue
        return tuple(cells[code.co_freevars.index("options")].cell_contents)
    return None


def _one_of(values: tuple[Any, ...]) -> str:
    return "one of " + ", ".join(f"`{v}`" for v in values)


def _union_name(args: tuple[Any, ...]) -> str:
    return " or ".join(type_name(a) for a in args if a is not type(None))


# What a user writes for a generic type, by its origin, from its arguments.
_GENERIC_NAMES: dict[Any, Callable[[tuple[Any, ...]], str]] = {
    typing.Literal: _one_of,
    typing.Union: _union_name,
    types.UnionType: _union_name,
    list: lambda args: f"list of {type_name(args[0])}",
    dict: lambda args: f"map of {type_name(args[0])} to {type_name(args[1])}",
    tuple: lambda args: "pair",
}
_SCALAR_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def type_name(annotation: Any, metadata: list[Any] | None = None) -> str:
    """What a user writes, e.g. ``list of [call](#call)``, ``duration``, ``one of `a`, `b```.

    A unit kind or a choice validator in the ``Annotated`` metadata names the field better
    than its Python type, so they are asked first."""
    metadata = list(metadata or [])
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0], [*metadata, *annotation.__metadata__])
    kind, options = _kind(metadata), _choices(metadata)
    if kind:
        return kind
    if options is not None:
        return _one_of(options)
    if origin in _GENERIC_NAMES:
        return _GENERIC_NAMES[origin](args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{section_title(annotation)}](#{section_anchor(annotation)})"
    return _SCALAR_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))



# -- defaults and bounds ------------------------------------------------------------------------
def _seconds(value: float) -> str:
    if value == 0:
        return "0s"
    for size, unit in ((3600, "h"), (60, "m")):
        if value >= size and value % size == 0:
            return f"{value / size:g}{unit}"
    return format_duration(value)


def number_text(value: float, unit: str = "") -> str:
    if unit == "s":
        return _seconds(value)
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"
    return text + unit


def default_text(info: FieldInfo, kind: str) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "see below" if value.model_fields_set else "all defaults"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "one, all defaults"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{number_text(value, _UNITS.get(kind, ''))}`"
    if value == "" or value == [] or value == {}:
        return {"": "empty", "[]": "`[]`", "{}": "`{}`"}[repr(value).replace("''", "")]
    return f"`{value}`"


def bounds_text(info: FieldInfo, kind: str) -> str:
    """``1 to 1,000`` or ``at most 100 entries``, with the limit's reason (durations and rates
    give theirs once, under Limits)."""
    unit = _UNITS.get(kind, "")
    metadata, why = _constraints(info)
    lows: list[str] = []
    highs: list[str] = []
    items: list[str] = []
    for meta in metadata:
        if isinstance(meta, annotated_types.Ge):
            lows.append(f"≥ {number_text(float(meta.ge), unit)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Gt):
            lows.append(f"> {number_text(float(meta.gt), unit)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Le):
            highs.append(f"≤ {number_text(float(meta.le), unit)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Lt):
            highs.append(f"< {number_text(float(meta.lt), unit)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.MinLen):
            items.append(f"at least {meta.min_length}")
        elif isinstance(meta, annotated_types.MaxLen):
            items.append(f"at most {number_text(meta.max_length)}")
    if kind == "probability":
        lows, highs = ["0"], ["1 (or 0% to 100%)"]
    if kind == "duration > 0" and not lows:
        lows = ["> 0s"]
    parts = []
    if lows and highs and lows[0].startswith("≥") and highs[0].startswith("≤"):
        parts.append(f"{lows[0][2:]} to {highs[0][2:]}")
    elif lows and highs and kind == "probability":
        parts.append(f"{lows[0]} to {highs[0]}")
    else:
        parts += lows + highs
    if items:
        parts.append(" and ".join(items) + " entries")
    text = ", ".join(parts) or "-"
    return f"{text} ({why})" if why and unit == "" else text



_TITLES = {
    schema.ScenarioDocument: "document", schema.ScenarioSpec: "spec",
    schema.ServiceSpec: "service", schema.VersionSpec: "version", schema.CallSpec: "call",
    schema.WorkloadSpec: "workload", schema.RequestSpec: "request",
    schema.RateStepSpec: "rate step", schema.FaultSpec: "fault", schema.ExpectSpec: "expectation",
}


def section_title(model: type[BaseModel]) -> str:
    name = model.__name__.removesuffix("Spec").removesuffix("Document")
    return _TITLES.get(model, name.lower() or model.__name__)


def section_anchor(model: type[BaseModel]) -> str:
    return section_title(model).replace(" ", "-")


def _constraints(info: FieldInfo) -> tuple[list[Any], str | None]:
    """Bounds and the limit's reason of a field, also when its type is ``Replicas | None``."""
    metadata, extras = list(info.metadata), [info.json_schema_extra]
    if typing.get_origin(info.annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(info.annotation):
            if typing.get_origin(arg) is typing.Annotated:
                for meta in arg.__metadata__:
                    if isinstance(meta, FieldInfo):
                        metadata += meta.metadata
                        extras.append(meta.json_schema_extra)
    why = next((e["x-limit"] for e in extras if isinstance(e, dict) and "x-limit" in e), None)
    return metadata, None if why is None else str(why)



def kind_of(info: FieldInfo) -> str:
    found = _kind(list(info.metadata))
    if found:
        return found
    annotation = info.annotation
    for arg in typing.get_args(annotation):  # Duration | None
        if typing.get_origin(arg) is typing.Annotated:
            return _kind(list(arg.__metadata__)) or ""
    return ""

