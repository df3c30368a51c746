"""From a path inside a document to a :class:`Location` a user can jump to.

Validation reports paths in the shape of the schema (a single request mapping is validated as a
one-item list, a rate string as a one-step schedule); users wrote the shape of their YAML. The
locator walks the raw data to keep only the steps the user actually wrote, then finds the line,
or says ``--set`` when the value came from a command-line override.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from meshsim.config.yamlsrc import PathKey, Position, YamlPath, dotted, nearest_position
from meshsim.errors import Location

OVERRIDE_FILE = "--set"


class Locator:
    """Positions and raw data of one document, plus the paths overrides replaced."""

    def __init__(
        self,
        file: str,
        positions: Mapping[YamlPath, Position],
        data: object,
        overridden: Collection[YamlPath] = (),
    ) -> None:
        self.file = file
        self.positions = positions
        self.data = data
        self.overridden = tuple(overridden)

    def normalize(self, loc: Sequence[PathKey]) -> YamlPath:
        """Drop the steps of ``loc`` that exist only in the schema's shape of the data."""
        node = self.data
        path: list[PathKey] = []
        for index, step in enumerate(loc):
            if isinstance(node, dict) and step in node:
                path.append(step)
                node = node[step]
            elif isinstance(node, list) and _is_index(step) and 0 <= int(step) < len(node):
                path.append(int(step))
                node = node[int(step)]
            elif isinstance(node, dict) and isinstance(step, str) and index == len(loc) - 1:
                if step != "[key]":
                    path.append(step)  # a missing field: name it
            elif not isinstance(node, dict | list):
                break  # the rest is the schema's view of a scalar the user wrote
        return tuple(path)

    def locate(self, path: Sequence[PathKey]) -> Location:
        """Where ``path`` (already in the user's shape) was written."""
        path = tuple(path)
        if self.from_override(path):
            return Location(file=OVERRIDE_FILE, path=dotted(path))
        position = nearest_position(self.positions, path)
        if position is None:
            return Location(file=self.file, path=dotted(path))
        return Location(self.file, position[0], position[1], dotted(path))

    def locate_loc(self, loc: Sequence[PathKey]) -> Location:
        """Where a validation ``loc`` points, after :meth:`normalize`."""
        return self.locate(self.normalize(loc))

    def from_override(self, path: YamlPath) -> bool:
        return any(path[: len(done)] == done for done in self.overridden)


def _is_index(step: object) -> bool:
    return isinstance(step, int) and not isinstance(step, bool)
