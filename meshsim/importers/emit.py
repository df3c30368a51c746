"""Writing an imported scenario: YAML with comments on the values an import had to guess.

PyYAML writes no comments, so this small emitter writes the Scenario document itself (block
mappings and lists, flow style for short scalar lists, scalars quoted by PyYAML) and puts each
note as a ``# ...`` comment on its key's line. Manifests follow as they were, one per document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as Path_
from typing import Any

import yaml

from meshsim.errors import MeshsimError

Path = tuple[str | int, ...]
TODO = "TODO(meshsim import):"


@dataclass
class Imported:
    """What an import produces: the Scenario document, notes by YAML path, the manifests to
    pass through, extra files (empirical samples) by relative path, and a fit report."""

    scenario: dict[str, Any]
    notes: dict[Path, str] = field(default_factory=dict)
    manifests: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    report: list[dict[str, Any]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    def todo(self, path: Path, text: str) -> None:
        self.notes[path] = f"{TODO} {text}"

    def note(self, path: Path, text: str) -> None:
        self.notes[path] = text

    def text(self) -> str:
        lines = [f"# {line}" for line in self.header]
        lines += _mapping(self.scenario, (), 0, self.notes)
        out = "\n".join(lines) + "\n"
        for manifest in self.manifests:
            out += "---\n" + yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)
        return out


def _scalar(value: Any) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return text.removesuffix("\n...\n").strip()


def _simple(value: Any, path: Path, notes: Mapping[Path, str]) -> bool:
    """Short enough for flow style, and no note to place inside it."""
    if any(len(key) > len(path) and key[:len(path)] == path for key in notes):
        return False
    if isinstance(value, Mapping):
        return all(not isinstance(v, Mapping | list) for v in value.values()) and len(value) <= 4
    if isinstance(value, list):
        return all(not isinstance(v, Mapping | list) for v in value)
    return True


def _comment(notes: Mapping[Path, str], path: Path) -> str:
    note = notes.get(path)
    return f"  # {note}" if note else ""


def _mapping(data: Mapping[str, Any], path: Path, indent: int,
             notes: Mapping[Path, str]) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in data.items():
        here = (*path, key)
        head = f"{pad}{_scalar(key)}:"
        if isinstance(value, Mapping | list) and value and not _simple(value, here, notes):
            lines.append(head + _comment(notes, here))
            lines += (_mapping(value, here, indent + 2, notes) if isinstance(value, Mapping)
                      else _sequence(value, here, indent + 2, notes))
        else:
            lines.append(f"{head} {_scalar(value)}{_comment(notes, here)}")
    return lines


def _sequence(items: Sequence[Any], path: Path, indent: int,
              notes: Mapping[Path, str]) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for index, item in enumerate(items):
        here = (*path, index)
        if isinstance(item, Mapping) and item and not _simple(item, here, notes):
            inner = _mapping(item, here, indent + 2, notes)
            lines.append(f"{pad}- {inner[0].lstrip()}{_comment(notes, here)}")
            lines += inner[1:]
        else:
            lines.append(f"{pad}- {_scalar(item)}{_comment(notes, here)}")
    return lines


def write(imported: Imported, out: Path_, *, force: bool = False) -> list[Path_]:
    """Write the scenario and its sample files (relative to it); refuse to overwrite without
    ``force``. Returns the files written."""
    targets = [out, *(out.parent / name for name in imported.files)]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise OutputExists(f"{existing[0]}: exists (use --force to replace it)")
    for name, text in imported.files.items():
        (out.parent / name).parent.mkdir(parents=True, exist_ok=True)
        (out.parent / name).write_text(text, encoding="utf-8")
    out.write_text(imported.text(), encoding="utf-8")
    return targets


class OutputExists(MeshsimError):
    """An import would write over a file the user did not ask to replace."""
