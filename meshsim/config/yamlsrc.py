"""YAML streams with source positions.

PyYAML's ``safe_load`` throws positions away and silently keeps the last of two equal keys.
Every error meshsim reports must name a file and line, and a duplicate key is almost always a
paste mistake, so we compose nodes ourselves, record where each key and list item was written,
and only then construct plain Python data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from meshsim.errors import Location, ScenarioError

PathKey = str | int
YamlPath = tuple[PathKey, ...]
Position = tuple[int, int]  # 1-based line and column

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_KEY = "<<"


@dataclass(frozen=True)
class Document:
    """One document of a stream: its data, where each path was written, and its raw scalars."""

    data: object
    positions: Mapping[YamlPath, Position]
    file: str
    scalars: Mapping[YamlPath, str] = field(default_factory=dict)  # text as written

    @property
    def start(self) -> Position:
        return self.positions.get((), (1, 1))


def load_stream(text: str, file: str) -> list[Document]:
    """Every non-empty document of ``text``; malformed YAML is a one-line ScenarioError."""
    try:
        return _documents(text, file)
    except yaml.MarkedYAMLError as exc:
        raise _malformed(exc, file) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioError(f"not readable as YAML: {exc.reason}", Location(file, line)) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ScenarioError(f"malformed YAML: {message}", Location(file=file)) from None


def _documents(text: str, file: str) -> list[Document]:
    loader = yaml.SafeLoader(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
                continue
            walker = _Walker(loader, file)
            walker.walk(node, ())
            data = loader.construct_document(node)
            documents.append(Document(data, walker.positions, file, walker.scalars))
    finally:
        loader.dispose()
    return documents


def _malformed(exc: yaml.MarkedYAMLError, file: str) -> ScenarioError:
    mark = exc.problem_mark or exc.context_mark
    message = f"malformed YAML: {exc.problem or exc.context}"
    context, problem = exc.context_mark, exc.problem_mark
    if exc.context and context is not None and problem is not None and context.line != problem.line:
        message += f" ({exc.context} started at line {context.line + 1})"
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return ScenarioError(message, Location(file=file, line=line, column=column))


class _Walker:
    """Records the position of every mapping key and list item, and rejects duplicate keys."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.positions: dict[YamlPath, Position] = {}
        self.scalars: dict[YamlPath, str] = {}
        self._walked: set[int] = set()  # an alias is walked once: no blow-up, no recursion

    def walk(self, node: Node, path: YamlPath, mark: Node | None = None) -> None:
        start = (mark or node).start_mark
        self.positions.setdefault(path, (start.line + 1, start.column + 1))
        if id(node) in self._walked:
            return
        self._walked.add(id(node))
        if isinstance(node, MappingNode):
            self._walk_mapping(node, path)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, (*path, index))
        elif isinstance(node, ScalarNode):
            self.scalars[path] = str(node.value)

    def _walk_mapping(self, node: MappingNode, path: YamlPath) -> None:
        seen: dict[object, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == _MERGE_KEY:
                continue
            key = self._key(key_node)
            if key in seen:
                first = seen[key].start_mark.line + 1
                where = (*path, key) if isinstance(key, str | int) else path
                mark = key_node.start_mark
                raise ScenarioError(
                    f"duplicate key {key!r} (first written at line {first}); "
                    "YAML would silently keep only the last one",
                    Location(self.file, mark.line + 1, mark.column + 1, dotted(where)),
                )
            seen[key] = key_node
            if isinstance(key, str | int):
                self.walk(value_node, (*path, key), mark=key_node)

    def _key(self, key_node: Node) -> object:
        if isinstance(key_node, ScalarNode) and key_node.tag == _STR_TAG:
            return key_node.value
        key = self.loader.construct_object(key_node, deep=True)
        return key if isinstance(key, str | int | float | bool) else repr(key)


def dotted(path: YamlPath) -> str:
    """``('spec', 'workload', 0, 'rate')`` → ``spec.workload[0].rate``."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def nearest_position(positions: Mapping[YamlPath, Position], path: YamlPath) -> Position | None:
    """The position of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        found = positions.get(path[:end])
        if found is not None:
            return found
    return None
