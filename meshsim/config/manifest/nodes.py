"""A value inside one manifest, with where it was written, and typed reads that fail there.

Every message the translator produces points at ``file:line`` and names the manifest and the
YAML path inside it: ``VirtualService/reviews-route spec.http[0].route[0].destination.subset``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from meshsim.config.fields import did_you_mean
from meshsim.config.manifest.durations import parse_istio_duration
from meshsim.config.manifests import Manifest
from meshsim.config.yamlsrc import PathKey, YamlPath, dotted
from meshsim.errors import ConfigWarning, Location, MissingReference, ScenarioError, UnitError


def where(manifest: Manifest, path: YamlPath = ()) -> Location:
    """The location of ``path`` in ``manifest``, its path prefixed by ``Kind/name``."""
    location = manifest.location(path)
    inner = dotted(path)
    return replace(location, path=f"{manifest.key} {inner}" if inner else manifest.key)


@dataclass(frozen=True)
class Node:
    """``value`` at ``path`` of ``manifest``; ``value`` is None when the field is absent."""

    manifest: Manifest
    path: YamlPath
    value: Any

    @classmethod
    def root(cls, manifest: Manifest) -> Node:
        return cls(manifest, (), manifest.data)

    def __getitem__(self, key: PathKey) -> Node:
        value = None
        if isinstance(self.value, dict) and isinstance(key, str):
            value = self.value.get(key)
        elif isinstance(self.value, list) and isinstance(key, int) and 0 <= key < len(self.value):
            value = self.value[key]
        return Node(self.manifest, (*self.path, key), value)

    @property
    def present(self) -> bool:
        return self.value is not None

    @property
    def name(self) -> str:
        """The last step of the path, as a user would name the field."""
        return str(self.path[-1]) if self.path else self.manifest.key

    @property
    def location(self) -> Location:
        return where(self.manifest, self.path)

    def error(self, message: str) -> ScenarioError:
        return ScenarioError(message, self.location)

    def missing(self, message: str, reference: str, value: str) -> MissingReference:
        """The error for a name this field gives that nothing defines (istioctl's IST0101)."""
        manifest = self.manifest
        return MissingReference(message, self.location, reference, value, manifest.kind,
                                manifest.name, manifest.namespace)

    # -- typed reads: each raises a located ScenarioError for the wrong type -------------------

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value and self.value[key] is not None

    def mapping(self) -> dict[str, Any]:
        if self.value is None:
            return {}
        if not isinstance(self.value, dict):
            raise self.error(f"{self.name} must be a mapping, got {_kind(self.value)}")
        return self.value

    def items(self) -> list[Node]:
        """The elements of a list (empty when absent)."""
        if self.value is None:
            return []
        if not isinstance(self.value, list):
            raise self.error(f"{self.name} must be a list, got {_kind(self.value)}")
        return [self[i] for i in range(len(self.value))]

    def entries(self) -> Iterator[tuple[str, Node]]:
        """The ``key: value`` pairs of a mapping (none when absent)."""
        for key in self.mapping():
            yield str(key), self[str(key)]

    def string(self, default: str = "") -> str:
        if self.value is None:
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, str | int | float):
            raise self.error(f"{self.name} must be a string, got {_kind(self.value)}")
        return str(self.value)

    def strings(self) -> list[str]:
        return [item.string() for item in self.items()]

    def string_map(self) -> dict[str, str]:
        return {key: node.string() for key, node in self.entries()}

    def integer(self, default: int = 0, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        if self.value is None:
            return default
        value = self.value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)  # protobuf JSON accepts integers written as strings
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{self.name} must be an integer, got {_kind(self.value)}")
        self._bounds(value, minimum, maximum)
        return value

    def number(self, default: float = 0.0, *, minimum: float | None = None,
               maximum: float | None = None) -> float:
        if self.value is None:
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise self.error(f"{self.name} must be a number, got {_kind(self.value)}")
        value = float(self.value)
        self._bounds(value, minimum, maximum)
        return value

    def boolean(self, default: bool = False) -> bool:
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            raise self.error(f"{self.name} must be true or false, got {self.value!r}")
        return self.value

    def duration(self, *, minimum: float | None = None) -> float:
        """Seconds from an Istio duration; ``minimum`` mirrors Istio's validation (e.g. 1ms)."""
        try:
            seconds = parse_istio_duration(self.value)
        except UnitError as exc:
            raise self.error(f"invalid duration: {exc}") from None
        if minimum is not None and seconds < minimum:
            raise self.error(
                f"{self.name} must be at least {minimum * 1000:g}ms, got {self.value!r}"
            )
        return seconds

    def choice(self, choices: tuple[str, ...], default: str = "") -> str:
        text = self.string(default)
        if text not in choices:
            raise self.error(
                f"unknown {self.name} {text!r}{did_you_mean(text, choices)} "
                f"(expected one of {', '.join(choices)})"
            )
        return text

    def _bounds(self, value: float, minimum: float | None, maximum: float | None) -> None:
        if minimum is not None and value < minimum:
            raise self.error(f"{self.name} must be at least {minimum:g}, got {value:g}")
        if maximum is not None and value > maximum:
            raise self.error(f"{self.name} must be at most {maximum:g}, got {value:g}")


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


@dataclass
class Diagnostics:
    """The warnings of one translation, in the order they were found."""

    warnings: list[ConfigWarning] = field(default_factory=list)

    def warn(self, node: Node | Location, message: str, code: str = "unmodelled") -> None:
        location = node.location if isinstance(node, Node) else node
        self.warnings.append(ConfigWarning(message, location, code))
