"""One line per bad input: pydantic's errors turned into a located :class:`ScenarioError`.

pydantic reports every problem, in schema order, with its own wording and a URL. A user wants
the first problem in their file, in terms of their YAML, with a suggestion when they misspelt a
field. Nothing pydantic wrote reaches the user unless we have no better words.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from meshsim.config.fields import ERROR_TYPE, did_you_mean
from meshsim.config.locator import OVERRIDE_FILE, Locator
from meshsim.errors import Location, ScenarioError


def from_validation_error(
    exc: ValidationError, locator: Locator, root: type[BaseModel]
) -> ScenarioError:
    """The first error of ``exc`` in source order, located and worded for a user."""
    located = [(_location(error, locator), error) for error in exc.errors()]
    location, error = min(located, key=lambda pair: _source_order(*pair))
    return ScenarioError(_message(error, root), location)


def _location(error: ErrorDetails, locator: Locator) -> Location:
    loc = tuple(error["loc"])
    extra = error.get("ctx", {}).get("field", ()) if error["type"] == ERROR_TYPE else ()
    return locator.locate_loc(loc + tuple(extra))


def _source_order(location: Location, error: ErrorDetails) -> tuple[int, int, int, int]:
    """File before ``--set``; a missing field last, as a misspelling of it explains it better."""
    missing = int(error["type"] == "missing")
    if location.file == OVERRIDE_FILE:
        return (1, missing, 0, 0)
    return (0, missing, location.line or 0, location.column or 0)


def _message(error: ErrorDetails, root: type[BaseModel]) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == ERROR_TYPE:
        return str(ctx["message"])
    if kind == "extra_forbidden":
        return _unknown_field(error["loc"][-1], allowed_fields(root, error["loc"][:-1]))
    if kind == "missing":
        return "missing required field"
    if kind == "string_type" and isinstance(value, int | float):
        return f"expected a string, got {value!r}; quote it ('{value}') to make it text"
    template = _TEMPLATES.get(kind)
    if template is not None:
        return template.format(got=describe(value), **ctx)
    text = str(error["msg"])
    return text[:1].lower() + text[1:]


def _unknown_field(name: object, allowed: Sequence[str]) -> str:
    suggestion = did_you_mean(name, allowed)
    if suggestion or not allowed:
        return "unknown field" + suggestion
    return f"unknown field (expected one of {', '.join(allowed)})"


_TEMPLATES = {
    "int_type": "expected a whole number, got {got}",
    "int_parsing": "expected a whole number, got {got}",
    "int_from_float": "expected a whole number, got {got}",
    "float_type": "expected a number, got {got}",
    "float_parsing": "expected a number, got {got}",
    "bool_type": "expected true or false, got {got}",
    "bool_parsing": "expected true or false, got {got}",
    "string_type": "expected a string, got {got}",
    "dict_type": "expected a mapping, got {got}",
    "model_type": "expected a mapping, got {got}",
    "model_attributes_type": "expected a mapping, got {got}",
    "list_type": "expected a list, got {got}",
    "tuple_type": "expected a list, got {got}",
    "greater_than_equal": "must be at least {ge}, got {got}",
    "greater_than": "must be greater than {gt}, got {got}",
    "less_than_equal": "must be at most {le}, got {got}",
    "less_than": "must be less than {lt}, got {got}",
    "too_short": "expected at least {min_length} item(s), got {actual_length}",
    "too_long": "expected at most {max_length} item(s), got {actual_length}",
}


def describe(value: object) -> str:
    """A short phrase for what the user wrote."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def allowed_fields(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names (as written in YAML) of the model found at ``loc`` under ``root``."""
    node: Any = root
    for step in loc:
        node = _step(node, step)
        if node is None:
            return []
    model = _model_in(node)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _step(node: Any, step: str | int) -> Any:
    model = _model_in(node)
    if model is not None:
        for name, field in model.model_fields.items():
            if step in (name, field.alias):
                return field.annotation
        return None
    for inner in _members(node):
        origin = typing.get_origin(inner)
        if origin is list and isinstance(step, int):
            return typing.get_args(inner)[0]
        if origin is dict:
            return typing.get_args(inner)[1]
    return None


def _members(node: Any) -> list[Any]:
    """The types a field annotation may hold, Annotated and Optional unwrapped."""
    origin = typing.get_origin(node)
    if origin is typing.Annotated:
        return _members(typing.get_args(node)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(node) for m in _members(arg)]
    return [node]


def _model_in(node: Any) -> type[BaseModel] | None:
    for member in _members(node):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None
