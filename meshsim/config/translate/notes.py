"""What a translation could not carry (``lost``) or carried only approximately (``approximated``),
per source field, and the translation itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from meshsim.config.manifests import Manifest
from meshsim.config.yamlsrc import YamlPath

Kind = Literal["lost", "approximated"]


@dataclass(frozen=True)
class Note:
    """One source field and what became of it."""

    kind: Kind
    source: str  # ``Kind/name`` or ``Scenario``
    path: str  # YAML path in that document, e.g. ``spec.http[0].retries.retryOn``
    location: str  # ``file:line``
    message: str

    def format(self) -> str:
        return f"{self.location}: {self.kind}: {self.source} {self.path}: {self.message}"


def path_text(path: YamlPath) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(the whole manifest)"


@dataclass
class Notes:
    """Collects notes as a translator walks the manifests."""

    file: str = "scenario"  # where scenario-level notes point
    items: list[Note] = field(default_factory=list)

    def add(self, kind: Kind, manifest: Manifest | None, path: YamlPath, message: str) -> None:
        if manifest is None:
            self.items.append(Note(kind, "Scenario", path_text(path), self.file, message))
            return
        location = manifest.location(path)
        where = f"{location.file}:{location.line}" if location.line else str(location.file)
        self.items.append(Note(kind, manifest.key, path_text(path), where, message))

    def lost(self, manifest: Manifest | None, path: YamlPath, message: str) -> None:
        self.add("lost", manifest, path, message)

    def approx(self, manifest: Manifest | None, path: YamlPath, message: str) -> None:
        self.add("approximated", manifest, path, message)


@dataclass(frozen=True)
class Translation:
    """A scenario translated to ``mesh``: its scenario document, manifests and notes."""

    source: str  # the scenario file translated
    mesh: str
    scenario: dict[str, Any]
    manifests: list[dict[str, Any]]
    notes: tuple[Note, ...]
    # services that were versions of another (Linkerd has no subsets): new name -> (host, version)
    renamed: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def lost(self) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.kind == "lost")

    @property
    def approximated(self) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.kind == "approximated")

    def text(self) -> str:
        """The new scenario file: the notes as a comment, then the YAML stream."""
        head = [f"# Translated by `meshsim translate {self.source} --to {self.mesh}`.",
                f"# {len(self.lost)} field(s) have no {self.mesh} equivalent, "
                f"{len(self.approximated)} approximated:"]
        head += [f"#   {note.format()}" for note in self.notes]
        docs = [self.scenario, *self.manifests]
        body = yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=100)
        return "\n".join(head) + "\n" + body
