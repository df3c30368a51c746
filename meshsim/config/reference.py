"""The scenario-format reference (``docs/scenario-format.md``), generated from the schema.

    python -m meshsim.config.reference > docs/scenario-format.md

Every field of the ``kind: Scenario`` document with its type as a user writes it (a duration,
a rate, a latency distribution...), its default, its bounds and why (read by
:mod:`.reference_fields`), and its description (``Field`` description, else a note of
:mod:`.reference_notes`, else the comment on its line in the schema). This module walks the
models and lays out the document. A test compares
the checked-in document with this output, so the reference cannot drift from the schema.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import sys
import textwrap
import tokenize
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from meshsim.config import distributions, limits, schema
from meshsim.config.reference_fields import (
    bounds_text,
    default_text,
    kind_of,
    number_text,
    section_title,
    type_name,
)
from meshsim.config.reference_notes import NOTES

COMMAND = "python -m meshsim.config.reference > docs/scenario-format.md"


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models a field's type holds, in order (``list[CallEntry]`` → CallSpec)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        if not isinstance(arg, str | int | float):
            yield from _models(arg)


# -- descriptions from the source ---------------------------------------------------------------
def _comments(model: type[BaseModel]) -> dict[str, str]:
    """The ``# comment`` on each field's declaration lines in the model's source."""
    try:
        source = textwrap.dedent(inspect.getsource(model))
    except (OSError, TypeError):
        return {}
    tree = ast.parse(source)
    spans = {
        node.target.id: (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body[0].body  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    notes: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            notes[token.start[0]] = token.string.lstrip("#").strip()
    found = {}
    for name, (first, last) in spans.items():
        lines = [notes[n] for n in range(first, last + 1) if n in notes]
        if lines:
            found[name] = " ".join(lines)
    return found


def description(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    """``Field(description=...)``, else a note here, else the comment in the schema."""
    text = (info.description or NOTES.get((model, info.alias or name))
            or _comments(model).get(name, ""))
    text = re.sub(r"\bNone\b", "unset", text).strip()
    if text and not text.endswith("."):
        text += "."
    return text[:1].upper() + text[1:]


# -- the document -------------------------------------------------------------------------------
@dataclass
class Section:
    model: type[BaseModel]
    paths: list[str]


def _child_path(path: str, name: str, annotation: Any) -> str:
    inner = typing.get_args(annotation)
    text = str(annotation)
    if "dict[" in text:
        return f"{path}.{name}.<name>"
    if "list[" in text and inner:
        return f"{path}.{name}[i]"
    return f"{path}.{name}"


def sections() -> list[Section]:
    """Every model reachable from the Scenario document, breadth first, with its YAML paths."""
    found: dict[type[BaseModel], Section] = {}
    queue: list[tuple[type[BaseModel], str]] = [(schema.ScenarioDocument, "")]
    while queue:
        model, path = queue.pop(0)
        if model in found:
            if path not in found[model].paths:
                found[model].paths.append(path)
            continue
        found[model] = Section(model, [path])
        for name, info in model.model_fields.items():
            key = info.alias or name
            for child in _models(info.annotation):
                child_path = _child_path(path, key, info.annotation).lstrip(".")
                queue.append((child, child_path))
    return list(found.values())


def _row(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    kind = type_name(info.annotation, list(info.metadata))
    cells = [
        f"`{info.alias or name}`", kind, default_text(info, kind_of(info)),
        bounds_text(info, kind_of(info)), description(model, name, info),
    ]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _section(section: Section) -> list[str]:
    model = section.model
    paths = ", ".join(f"`{p}`" if p else "the document" for p in section.paths)
    lines = [f"## {section_title(model)}", "", f"At {paths}."]
    doc = inspect.getdoc(model)
    if doc and model.__doc__ and "__doc__" in model.__dict__:
        lines += ["", doc.splitlines()[0].replace("``", "`")]
    lines += [
        "", "| field | type | default | bounds | description |", "|---|---|---|---|---|",
    ]
    lines += [_row(model, name, info) for name, info in model.model_fields.items()]
    return [*lines, ""]


def _limits() -> list[str]:
    rows = []
    for value in vars(limits).values():
        if isinstance(value, limits.Limit):
            shown = number_text(value.maximum, value.unit) if value.unit in ("s", "/s") else (
                value.show(value.maximum))
            rows.append(f"| {shown} {value.what} | {value.why} |")
    return [
        "## Limits", "",
        "Every size meshsim accepts (`meshsim/config/limits.py`): a value over one is refused "
        "at load with exit 2 and one located line naming the limit and why. Sizes inside "
        "manifests (retry attempts, rollout steps, replicas of an Argo Rollout) have the same "
        "limits.", "",
        "| maximum | why |", "|---|---|", *rows, "",
    ]


def _conventions() -> list[str]:
    dists = ", ".join(
        f"`{name}({', '.join(params)})`" for name, params in distributions.PARAMS.items()
    )
    return [
        "## Value formats", "",
        "| type | written as |", "|---|---|",
        "| duration | `250us`, `5ms`, `30s`, `2m`, `1h`, or `0` |",
        "| rate | requests per second or minute: `400/s`, `600/m` |",
        "| probability | a share `0.05` or a percentage `'5%'` |",
        f"| latency distribution | a call {dists} (parameters by name or position, "
        "durations where they are times; `cv` a number; `empirical` reads a CSV of samples "
        "relative to the scenario file), the same as a mapping (`{exponential: 10ms}`), or a "
        "bare duration (constant) |",
        "| latency change | `x10` (multiply the service time) or `+50ms` (add to it) |",
        "| name | a Kubernetes DNS label: lowercase letters, digits and `-` |",
        "",
    ]


def render() -> str:
    """The whole reference as Markdown."""
    lines = [
        "# Scenario format reference", "",
        f"Generated from the schema (`meshsim/config/schema.py`) by `{COMMAND}`: do not edit "
        "by hand; a test fails when this file and the schema differ.", "",
        "A scenario is a YAML stream: one `kind: Scenario` document, described here, plus the "
        "Istio, Linkerd, Gateway API, Flagger and Argo manifests it is played with (pasted in "
        "or named by `spec.manifests`). Unknown fields are errors. Paths below use `<name>` for "
        "a key of a map and `[i]` for an item of a list.", "",
    ]
    lines += _conventions()
    for section in sections():
        lines += _section(section)
    lines += _limits()
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
