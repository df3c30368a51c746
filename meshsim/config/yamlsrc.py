"""YAML streams with source positions.

PyYAML's ``safe_load`` throws positions away and silently keeps the last of two equal keys.
Every error meshsim reports must name a file and line, and a duplicate key is almost always a
paste mistake, so we compose nodes ourselves, record where each key and list item was written,
and only then construct plain Python data.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from meshsim.config import limits
from meshsim.errors import Location, ScenarioError

PathKey = str | int
YamlPath = tuple[PathKey, ...]
Position = tuple[int, int]  # 1-based line and column

NON_FINITE = "expected a finite number, got infinity or NaN (.inf, .nan)"
# libyaml's parser when PyYAML was built with it: the same nodes and marks, several times
# faster; an error is reported by the pure-Python parser, whose messages the tests pin.
_C_SAFE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
_COLLECTION_STARTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_SMALL = 500_000  # characters; a text this short cannot hold YAML_NODES nodes
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_KEY = "<<"


class _LocatedConstructor(yaml.constructor.SafeConstructor):
    """A scalar PyYAML cannot construct (``2024-13-01``, ``!!int abc``) is a marked YAML error.

    PyYAML's safe constructors raise a bare ValueError (or worse) for an unquoted timestamp out
    of the calendar or a tagged scalar that is not what its tag says; turned into a
    ConstructorError it carries the node's line and column like any other malformed YAML.
    """

    def construct_object(self, node: Node, deep: bool = False) -> object:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            why = f" ({exc})" if isinstance(exc, ValueError) else ""
            text = str(node.value)
            shown = repr(text if len(text) <= 40 else text[:37] + "...")
            problem = f"cannot read {shown} as a YAML {kind}{why}; quote it if it is text"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


class _Fast(_LocatedConstructor, _C_SAFE):  # type: ignore[misc,valid-type]
    """libyaml's parser (when PyYAML has it) with the located constructor."""


class _Safe(_LocatedConstructor, yaml.SafeLoader):
    """The pure-Python parser, whose error messages the tests pin, with the same constructor."""


_FAST: type[yaml.SafeLoader] = _Fast


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


def read_text(path: Path, what: str) -> str:
    """A scenario or manifests file as text, refusing what is not a bounded UTF-8 file."""
    try:
        if path.exists() and not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block
            raise ScenarioError(f"{what} is not a regular file", Location(file=str(path)))
        with path.open("rb") as stream:
            data = stream.read(int(limits.FILE_BYTES.maximum) + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ScenarioError(f"cannot read {what}: {reason}", Location(file=str(path))) from None
    if limits.FILE_BYTES.exceeded(len(data)):
        raise ScenarioError(
            f"{what} is larger than meshsim's limit of "
            f"{limits.FILE_BYTES.show(limits.FILE_BYTES.maximum)} ({limits.FILE_BYTES.why})",
            Location(file=str(path)),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{what} is not UTF-8 text", Location(file=str(path))) from None


def load_value(text: str) -> object:
    """One YAML value written outside a file (``--set PATH=VALUE``), constructed as a file's
    values are: a scalar PyYAML cannot construct is a YAMLError, not a bare ValueError."""
    loader = _Safe(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_stream(text: str, file: str) -> list[Document]:
    """Every non-empty document of ``text``; malformed YAML is a one-line ScenarioError."""
    if limits.FILE_BYTES.exceeded(len(text)):
        raise ScenarioError(
            f"{len(text):,} characters is over meshsim's limit of "
            f"{limits.FILE_BYTES.show(limits.FILE_BYTES.maximum)} ({limits.FILE_BYTES.why})",
            Location(file=file),
        )
    try:
        if len(text) > _SMALL:
            _count_nodes(text, file)
        try:
            return _documents(text, file, _FAST)
        except yaml.YAMLError:  # parse again for PyYAML's own wording of the mistake
            return _documents(text, file, _Safe)
    except RecursionError:
        raise ScenarioError(
            "YAML nested too deeply to be configuration", Location(file=file)
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _malformed(exc, file) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioError(f"not readable as YAML: {exc.reason}", Location(file, line)) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ScenarioError(f"malformed YAML: {message}", Location(file=file)) from None


def _documents(text: str, file: str, parser: type[yaml.SafeLoader]) -> list[Document]:
    loader = parser(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
                continue
            if limits.MANIFESTS.exceeded(len(documents) + 1):
                raise ScenarioError(
                    limits.MANIFESTS.message(len(documents) + 1),
                    Location(file, node.start_mark.line + 1, node.start_mark.column + 1),
                )
            _check_size(node, file)
            walker = _Walker(loader, file)
            walker.walk(node, ())
            data = loader.construct_document(node)
            documents.append(Document(data, walker.positions, file, walker.scalars))
    finally:
        loader.dispose()
    return documents


def _count_nodes(text: str, file: str) -> None:
    """Refuse too many nodes or documents while streaming events, before any is composed.

    Only documents whose root is a mapping or a list are counted, so an empty document does
    not count and the refusal is never wrong; the exact count is checked while composing. A
    malformed text is reported from here, in libyaml's words: composing every document before
    the mistake and parsing again in pure Python would take seconds on a text this long.
    """
    total = in_document = documents = 0
    for event in yaml.parse(text, Loader=_FAST):
        if isinstance(event, yaml.DocumentStartEvent):
            in_document = 0
        elif isinstance(event, _NODE_EVENTS):
            total, in_document = total + 1, in_document + 1
            if in_document == 1 and isinstance(event, _COLLECTION_STARTS):
                documents += 1
                if limits.MANIFESTS.exceeded(documents):
                    raise ScenarioError(limits.MANIFESTS.message(documents),
                                        Location(file, _line(event)))
            for limit, count in ((limits.YAML_NODES, in_document),
                                 (limits.YAML_FILE_NODES, total)):
                if limit.exceeded(count):
                    raise ScenarioError(limit.message(count), Location(file, _line(event)))


def _line(event: yaml.Event) -> int | None:
    return None if event.start_mark is None else event.start_mark.line + 1


def _check_size(root: Node, file: str) -> None:
    """Refuse an alias bomb or a self-referencing alias before anything expands it."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            mark = node.start_mark
            raise ScenarioError(
                "a YAML alias refers to a node that contains it: the data would be infinite",
                Location(file, mark.line + 1, mark.column + 1),
            )
        open_.add(key)
        children: list[Node] = []
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        total = 1
        for child in children:
            total += size(child)
            if limits.YAML_NODES.exceeded(total):
                mark = root.start_mark
                raise ScenarioError(
                    limits.YAML_NODES.message(total), Location(file, mark.line + 1)
                )
        open_.discard(key)
        sizes[key] = total
        return total

    size(root)


def first_non_finite(data: object) -> YamlPath | None:
    """The path of the first infinite or NaN number in ``data`` (YAML's ``.inf``, ``.nan``)."""
    stack: list[tuple[object, YamlPath]] = [(data, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return path
        if not isinstance(node, dict | list) or id(node) in seen:
            continue
        seen.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        children = [(v, (*path, k)) for k, v in items if isinstance(k, str | int)]
        stack.extend(reversed(children))
    return None


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
