"""``--set PATH=VALUE``: change a scenario or a manifest without editing the file.

Overrides apply to the raw YAML data before validation, so an overridden value is checked
exactly like a written one; errors in it are located at ``--set`` rather than a file line.
``spec.``/``metadata.`` paths address the Scenario document, ``Kind/name.`` a manifest.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml

from meshsim.config.fields import did_you_mean
from meshsim.config.locator import OVERRIDE_FILE
from meshsim.config.yamlsrc import PathKey, YamlPath, dotted, load_value
from meshsim.errors import Location, ScenarioError

_SEGMENT = re.compile(r"^([^\[\]]*)((?:\[[0-9]+\])*)$")
_SCENARIO_ROOTS = ("spec", "metadata")


@dataclass(frozen=True)
class Override:
    """One ``--set``: for a manifest, ``kind`` is set and ``rest`` is ``name.path``."""

    written: str
    value: object
    kind: str | None
    rest: str

    def error(self, message: str) -> ScenarioError:
        return ScenarioError(message, Location(file=OVERRIDE_FILE, path=self.written))


def parse_set_option(text: str) -> tuple[str, str]:
    """``'spec.seed=3'`` → ``('spec.seed', '3')``, for a CLI passing ``--set`` through."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ScenarioError(
            f"expected PATH=VALUE, got {text!r}", Location(file=OVERRIDE_FILE, path=text)
        )
    return path.strip(), value


def parse_overrides(overrides: Mapping[str, object]) -> list[Override]:
    """Split each path into its target; string values are read as YAML (``4`` is an int)."""
    parsed = []
    for written, raw in overrides.items():
        kind, slash, rest = written.partition("/")
        override = (
            Override(written, raw, kind, rest) if slash and "." not in kind
            else Override(written, raw, None, written)
        )
        parsed.append(replace(override, value=_value(override)))
    return parsed


def _value(override: Override) -> object:
    if not isinstance(override.value, str):
        return override.value
    try:
        return load_value(override.value)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not a YAML value"
        raise override.error(f"malformed value {override.value!r}: {problem}") from None


def parse_path(text: str, override: Override) -> YamlPath:
    """``spec.workload[0].rate`` (or ``.0.``) → ``('spec', 'workload', 0, 'rate')``."""
    path: list[PathKey] = []
    for segment in text.split("."):
        match = _SEGMENT.match(segment)
        if not match or (not match.group(1) and not match.group(2)):
            raise override.error(f"malformed path {text!r}: empty or broken segment {segment!r}")
        if match.group(1):
            name = match.group(1)
            path.append(int(name) if name.isdigit() else name)
        path.extend(int(i) for i in re.findall(r"\[([0-9]+)\]", match.group(2)))
    return tuple(path)


def apply_to_scenario(
    data: Mapping[str, Any], overrides: Sequence[Override]
) -> tuple[dict[str, Any], list[YamlPath]]:
    """A copy of the Scenario data with the ``spec.``/``metadata.`` overrides applied."""
    result = copy.deepcopy(dict(data))
    done = []
    for override in overrides:
        path = parse_path(override.rest, override)
        if path[0] not in _SCENARIO_ROOTS:
            raise override.error(
                "expected a path starting with spec., metadata. or Kind/name. (a manifest)"
            )
        done.append(set_path(result, path, override))
    return result, done


def apply_to_manifest(
    data: Mapping[str, Any], name: str, overrides: Sequence[Override]
) -> tuple[dict[str, Any], list[YamlPath]]:
    """A copy of one manifest's data with the overrides addressed to it (``rest`` = name.path)."""
    result = copy.deepcopy(dict(data))
    done = []
    for override in overrides:
        text = override.rest[len(name):].lstrip(".")
        if not text:
            raise override.error(f"expected a field path after {override.kind}/{name}")
        done.append(set_path(result, parse_path(text, override), override))
    return result, done


def addresses(override: Override, kind: str, name: str) -> bool:
    """Does ``override`` (``Kind/name.path``) address the manifest ``kind``/``name``?"""
    return override.kind == kind and (
        override.rest == name or override.rest.startswith(name + ".")
    )


def set_path(data: dict[str, Any], path: YamlPath, override: Override) -> YamlPath:
    """Set ``path`` in ``data``; every parent must exist. Returns the path as stored."""
    node: Any = data
    stored: list[PathKey] = []
    for step in path[:-1]:
        key = _key(node, step, stored, override)
        stored.append(key)
        node = node[key]
    last = path[-1]
    if isinstance(node, dict):
        key = str(last) if isinstance(last, int) and last not in node else last
        node[key] = override.value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        key = last
        node[last] = override.value
    else:
        raise override.error(f"cannot set {last!r} inside {_where(stored)}")
    return (*stored, key)


def _key(node: Any, step: PathKey, stored: list[PathKey], override: Override) -> PathKey:
    where = _where(stored)
    if isinstance(node, dict):
        for key in (step, str(step)):
            if key in node and isinstance(node[key], dict | list):
                return key
        if step in node or str(step) in node:
            raise override.error(f"{where}.{step} is a single value, not a mapping or list")
        names = [str(k) for k in node]
        raise override.error(f"no field {step!r} in {where}{did_you_mean(str(step), names)}")
    if isinstance(node, list):
        if isinstance(step, int) and step < len(node):
            return step
        raise override.error(f"no item {step!r} in {where} (it has {len(node)} items)")
    raise override.error(f"cannot go into {step!r}: {_where(stored)} is a single value")


def _where(stored: list[PathKey]) -> str:
    return dotted(tuple(stored)) or "the document"


def find_manifest(
    override: Override, candidates: Sequence[tuple[str, str]]
) -> tuple[str, str]:
    """The ``(kind, name)`` an override addresses (the longest name that fits), else an error."""
    fits = [(k, n) for k, n in candidates if addresses(override, k, n)]
    if fits:
        return max(fits, key=lambda pair: len(pair[1]))
    same_kind = [n for k, n in candidates if k == override.kind]
    head = override.rest.split(".")[0]
    known = ", ".join(f"{k}/{n}" for k, n in candidates) or "none"
    raise override.error(
        f"no manifest {override.kind}/{head}{did_you_mean(head, same_kind)} (manifests: {known})"
    )
