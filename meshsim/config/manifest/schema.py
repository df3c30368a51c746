"""Declared manifest schemas: the fields an API has, and which of them meshsim models.

A :class:`Field` tree mirrors one CRD's messages; :func:`check_spec` walks a manifest's spec
once, so a field the API does not have is a located error and a field meshsim does not model is
one named warning. The Istio, Linkerd and rollout translators each declare their own messages
with these pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from meshsim.config.fields import did_you_mean

from .nodes import Diagnostics, Node

Shape = Literal["one", "list", "map"]


@dataclass(frozen=True)
class Field:
    """A field: a scalar (``message`` None) or a message, once, repeated or as map values."""

    message: Mapping[str, Field] | None = None
    shape: Shape = "one"
    unmodelled: str | None = None  # why meshsim ignores it: one warning when present


def msg(**fields: Field) -> dict[str, Field]:
    return dict(fields)


S = Field()  # a scalar meshsim reads


def one(message: Mapping[str, Field]) -> Field:
    return Field(message)


def many(message: Mapping[str, Field]) -> Field:
    return Field(message, "list")


def mapped(message: Mapping[str, Field]) -> Field:
    return Field(message, "map")


def skip(reason: str) -> Field:
    return Field(unmodelled=reason)


_TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec", "status")


def check_spec(
    root: Node, specs: Mapping[str, Mapping[str, Field]], diagnostics: Diagnostics
) -> None:
    """The field-tree check for any CRD family: ``specs`` maps a kind to its spec's fields."""
    for key, node in root.entries():
        if key not in _TOP_LEVEL:
            raise node.error(f"unknown field {key!r}{did_you_mean(key, _TOP_LEVEL)}")
    spec = root["spec"]
    if not spec.present:
        raise root.error(f"{root.manifest.kind} needs a spec")
    walk(spec, specs[root.manifest.kind], diagnostics)


def walk(node: Node, message: Mapping[str, Field], diagnostics: Diagnostics) -> None:
    for key, child in node.entries():
        spec = message.get(key)
        if spec is None:
            raise child.error(
                f"unknown field {key!r}{did_you_mean(key, message)} "
                f"(expected one of {', '.join(message)})"
            )
        if not child.present:
            continue
        if spec.unmodelled is not None:
            diagnostics.warn(child, f"{key} is not modelled: {spec.unmodelled}")
        elif spec.message is not None:
            for item in _members(child, spec.shape):
                walk(item, spec.message, diagnostics)


def _members(node: Node, shape: Shape) -> list[Node]:
    if shape == "list":
        return node.items()
    if shape == "map":
        return [value for _, value in node.entries()]
    return [node]
