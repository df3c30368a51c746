"""Mesh manifests: every document that is not the Scenario, kept for the translators.

Users paste their real Istio, Linkerd, Gateway API or progressive-delivery manifests. This
module recognises them by ``apiVersion``/``kind``, refuses the ones meshsim cannot read or that
belong to the other mesh, and keeps each with its source positions so a translator can point at
the line of any field it does not model.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from meshsim.config import limits
from meshsim.config.fields import did_you_mean, quoted
from meshsim.config.locator import Locator
from meshsim.config.yamlsrc import (
    NON_FINITE,
    Document,
    Position,
    YamlPath,
    first_non_finite,
    load_stream,
)
from meshsim.errors import ConfigWarning, Location, ScenarioError

Family = Literal["istio", "linkerd", "gateway-api", "kubernetes", "rollout"]
SCENARIO_KIND = "Scenario"

_ISTIO_NETWORKING = ("VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar")
_ISTIO_SECURITY = ("AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication")
_LINKERD_POLICY = (
    "Server", "ServerAuthorization", "AuthorizationPolicy", "MeshTLSAuthentication",
    "NetworkAuthentication", "HTTPRoute", "GRPCRoute",
)
KNOWN_KINDS: dict[str, tuple[Family, tuple[str, ...]]] = {
    "networking.istio.io": ("istio", _ISTIO_NETWORKING),
    "security.istio.io": ("istio", _ISTIO_SECURITY),
    "linkerd.io": ("linkerd", ("ServiceProfile",)),
    "split.smi-spec.io": ("linkerd", ("TrafficSplit",)),
    "policy.linkerd.io": ("linkerd", _LINKERD_POLICY),
    "gateway.networking.k8s.io": ("gateway-api", ("HTTPRoute", "GRPCRoute", "Gateway")),
    "": ("kubernetes", ("Namespace", "Service")),
    "flagger.app": ("rollout", ("Canary", "MetricTemplate")),
    "argoproj.io": ("rollout", ("Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate")),
}
CLUSTER_SCOPED = ("Namespace", "ClusterAnalysisTemplate")
_VERSION = re.compile(r"^v[0-9]+((alpha|beta)[0-9]+)?$")
_MESH_OF: dict[Family, tuple[str, ...]] = {
    "istio": ("istio",),
    "linkerd": ("linkerd",),
    "gateway-api": ("istio", "linkerd"),
    "kubernetes": ("istio", "linkerd", "none"),
    "rollout": ("istio", "linkerd", "none"),
}
_TITLE: dict[Family, str] = {
    "istio": "an Istio",
    "linkerd": "a Linkerd",
    "gateway-api": "a Gateway API",
    "kubernetes": "a Kubernetes",
    "rollout": "a progressive-delivery",
}
_PENDING: dict[Family, str] = {
    "istio": "Istio translation is not built yet (a plain round-robin route to every pod "
    "stands in)",
    "linkerd": "Linkerd translation is not built yet (plain balancing over every pod stands in)",
    "gateway-api": "Gateway API translation is not built yet (a plain round-robin route to every "
    "pod stands in)",
    "kubernetes": "Kubernetes objects are not read yet (spec.services defines services and "
    "namespaces)",
    "rollout": "a rollout needs a mesh to move traffic and spec.mesh is none (set spec.mesh: "
    "istio or linkerd to rehearse it; each version keeps the traffic and replicas "
    "spec.services gives it)",
}


@dataclass(frozen=True)
class Manifest:
    """One mesh manifest as written, with where each of its fields was written."""

    apiVersion: str
    kind: str
    name: str
    namespace: str
    data: Mapping[str, Any]
    positions: Mapping[YamlPath, Position]
    file: str
    family: Family
    overridden: tuple[YamlPath, ...] = field(default=())

    @property
    def key(self) -> str:
        """``Kind/name``, as ``--set`` and messages address it."""
        return f"{self.kind}/{self.name}"

    @property
    def group(self) -> str:
        return self.apiVersion.rpartition("/")[0]

    def locator(self) -> Locator:
        return Locator(self.file, self.positions, self.data, self.overridden)

    def location(self, path: YamlPath = ()) -> Location:
        """Where ``path`` of this manifest was written (the document start for ``()``)."""
        return self.locator().locate(path)


def split_scenario(documents: Sequence[Document], file: str) -> tuple[Document, list[Document]]:
    """The one ``kind: Scenario`` document and the manifests around it."""
    scenarios: list[Document] = []
    others: list[Document] = []
    for document in documents:
        _require_mapping(document)
        is_scenario = isinstance(document.data, dict) and document.data.get("kind") == SCENARIO_KIND
        (scenarios if is_scenario else others).append(document)
    if not scenarios:
        line = documents[0].start[0] if documents else None
        raise ScenarioError(
            "no Scenario document: one document must have 'apiVersion: meshsim/v1alpha1' and "
            "'kind: Scenario'",
            Location(file=file, line=line),
        )
    if len(scenarios) > 1:
        line, column = scenarios[1].start
        raise ScenarioError(
            f"a second Scenario document (the first starts at line {scenarios[0].start[0]}); "
            "a scenario file holds exactly one",
            Location(file, line, column),
        )
    return scenarios[0], others


def _require_mapping(document: Document) -> None:
    if not isinstance(document.data, dict):
        line, column = document.start
        raise ScenarioError(
            "expected a document that is a mapping with apiVersion and kind, "
            f"got {type(document.data).__name__}",
            Location(document.file, line, column),
        )


def manifest_files(
    patterns: Sequence[str], base_dir: Path, scenario_file: Path, locator: Locator
) -> list[str]:
    """Files named by ``spec.manifests`` globs, in order, each once; an empty glob is an error.

    ``**`` walks directories itself rather than through :func:`glob.glob`, which follows a
    symlink back to a parent forever; the walk enters each real directory once and stops at
    the limits on depth, directories and files.
    """
    found: dict[str, None] = {}  # ordered, and membership in O(1): loading stays linear
    skip = scenario_file.resolve()
    total = 0
    for index, pattern in enumerate(patterns):
        full = Path(pattern) if Path(pattern).is_absolute() else base_dir / pattern
        where = locator.locate(("spec", "manifests", index))
        named = _expand(full, where)
        matches = [m for m in named if _regular(m) and Path(m).resolve() != skip]
        if not matches:
            others = [m for m in named if not _regular(m) and not Path(m).is_dir()]
            what = f"only {others[0]!r}, which is not a regular file" if others else "no file"
            raise ScenarioError(
                f"manifests pattern {pattern!r} matches {what} (looked in {full.parent})", where
            )
        for match in matches:
            if match in found:
                continue
            found[match] = None
            total += _file_size(match)
            for limit, size in ((limits.MANIFEST_FILES, len(found)), (limits.TOTAL_BYTES, total)):
                if limit.exceeded(size):
                    raise ScenarioError(f"manifests: {limit.message(size)}", where)
    return list(found)


def _regular(file: str) -> bool:
    """A regular file: not a directory, device, FIFO or a symlink that loops."""
    try:
        return stat.S_ISREG(os.stat(file).st_mode)
    except (OSError, ValueError):
        return False


def _file_size(file: str) -> int:
    try:
        return os.stat(file).st_size
    except OSError:
        return 0


def _expand(full: Path, where: Location) -> list[str]:
    """The files a pattern names, sorted; ``**`` matches any number of directories."""
    parts = full.parts
    if "**" not in parts:
        return sorted(glob.glob(str(full)))
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    root = Path(*parts[:first])
    pattern = parts[first:]
    return sorted(
        str(root.joinpath(*relative)) for relative in _walk(root, where)
        if _match(pattern, relative)
    )


def _walk(root: Path, where: Location) -> list[tuple[str, ...]]:
    """Relative paths of the files under ``root``; each real directory is entered once."""
    files: list[tuple[str, ...]] = []
    seen: set[str] = set()
    directories = 0
    for directory, subdirectories, names in os.walk(root, followlinks=True):
        relative = Path(directory).relative_to(root).parts
        real = os.path.realpath(directory)
        if real in seen or limits.GLOB_DEPTH.exceeded(len(relative)):
            subdirectories[:] = []
            continue
        seen.add(real)
        directories += 1
        if limits.GLOB_DIRECTORIES.exceeded(directories):
            raise ScenarioError(f"manifests: {limits.GLOB_DIRECTORIES.message(directories)}", where)
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        files.extend((*relative, name) for name in names if not name.startswith("."))
        if limits.GLOB_FILES.exceeded(len(files)):
            raise ScenarioError(f"manifests: {limits.GLOB_FILES.message(len(files))}", where)
    return files


def _match(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """Glob matching by path component: ``**`` is zero or more components."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_match(pattern[1:], parts[skip:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and _match(
        pattern[1:], parts[1:]
    )


def load_manifest_file(file: str, read: Callable[[str], str]) -> list[Document]:
    """The documents of one manifests file; a Scenario there is a mistake."""
    documents = load_stream(read(file), file)
    for document in documents:
        _require_mapping(document)
        if isinstance(document.data, dict) and document.data.get("kind") == SCENARIO_KIND:
            line, column = document.start
            raise ScenarioError(
                "a Scenario document in a manifests file; the scenario file holds the only one",
                Location(file, line, column),
            )
    return documents


def classify(
    document: Document, data: Mapping[str, Any], mesh: str, overridden: Iterable[YamlPath] = ()
) -> Manifest:
    """Recognise a manifest by apiVersion/kind and check that ``mesh`` can apply it."""
    locator = Locator(document.file, document.positions, data, tuple(overridden))
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        missing = "apiVersion" if not isinstance(api_version, str) else "kind"
        raise ScenarioError(f"a manifest needs {missing} (a string)", _head(locator, missing))
    family = _family(api_version, kind, locator)
    _check_mesh(family, kind, mesh, locator)
    non_finite = first_non_finite(data)
    if non_finite is not None:
        raise ScenarioError(NON_FINITE, locator.locate(non_finite))
    _check_sizes(kind, data, locator)
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{kind} needs metadata.name", locator.locate(("metadata", "name")))
    namespace = metadata.get("namespace", "default") if isinstance(metadata, dict) else "default"
    return Manifest(
        apiVersion=api_version,
        kind=kind,
        name=name,
        namespace="" if kind in CLUSTER_SCOPED else str(namespace),
        data=data,
        positions=document.positions,
        file=document.file,
        family=family,
        overridden=locator.overridden,
    )


def _check_sizes(kind: str, data: Mapping[str, Any], locator: Locator) -> None:
    """The counts meshsim bounds inside manifests (:data:`limits.MANIFEST_SIZES`)."""
    for bounded_kind, pattern, limit in limits.MANIFEST_SIZES:
        if bounded_kind != kind:
            continue
        for path, value in _matches(data, pattern):
            size = _size(value)
            if size is not None and limit.exceeded(size):
                raise ScenarioError(limit.message(size), locator.locate(path))


def _matches(data: object, pattern: Sequence[str]) -> list[tuple[YamlPath, object]]:
    """``(path, value)`` for every place ``pattern`` (``*`` any index or key) reaches."""
    found: list[tuple[YamlPath, object]] = [((), data)]
    for step in pattern:
        following: list[tuple[YamlPath, object]] = []
        for path, node in found:
            if isinstance(node, dict):
                keys: list[Any] = list(node) if step == "*" else [step] if step in node else []
                following.extend(((*path, k), node[k]) for k in keys)
            elif isinstance(node, list) and step == "*":
                following.extend(((*path, i), item) for i, item in enumerate(node))
        found = following
    return found


def _size(value: object) -> float | None:
    if isinstance(value, list | dict):
        return len(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def _family(api_version: str, kind: str, locator: Locator) -> Family:
    group, _, version = api_version.rpartition("/")
    if group not in KNOWN_KINDS or not _VERSION.match(version):
        groups = [g for g in KNOWN_KINDS if g]
        raise ScenarioError(
            f"unknown apiVersion {api_version!r}{did_you_mean(group, groups)} "
            f"(meshsim reads {', '.join(groups)} and core v1)",
            _head(locator, "apiVersion"),
        )
    family, kinds = KNOWN_KINDS[group]
    if kind not in kinds:
        raise ScenarioError(
            f"unknown kind {kind!r} for {api_version}{did_you_mean(kind, kinds)} "
            f"(expected one of {quoted(kinds)})",
            _head(locator, "kind"),
        )
    return family


def _check_mesh(family: Family, kind: str, mesh: str, locator: Locator) -> None:
    allowed = _MESH_OF[family]
    if mesh in allowed:
        return
    message = f"{kind} is {_TITLE[family]} manifest but spec.mesh is {mesh}"
    if mesh == "none":
        message += f"; set spec.mesh: {' or '.join(allowed)} to apply it"
    raise ScenarioError(message, _head(locator, "kind"))


def _head(locator: Locator, key: str) -> Location:
    """The line of a top-level field; its name is in the message, so no path is shown."""
    return replace(locator.locate((key,)), path="")


def check_unique(manifests: Sequence[Manifest]) -> None:
    """Two manifests of the same kind, namespace and name would shadow each other."""
    seen: dict[tuple[str, str, str], Manifest] = {}
    for manifest in manifests:
        key = (manifest.kind, manifest.namespace, manifest.name)
        if key in seen:
            first = seen[key].location()
            raise ScenarioError(
                f"a second {manifest.key} in namespace {manifest.namespace or '(cluster)'} "
                f"(the first is at {first.prefix()})",
                manifest.location(("metadata", "name")),
            )
        seen[key] = manifest


def pending_warning(manifest: Manifest) -> ConfigWarning:
    """Until a translator exists, say plainly that a manifest changes nothing."""
    location = manifest.location()
    return ConfigWarning(
        f"{manifest.key} is loaded but not applied: {_PENDING[manifest.family]}",
        Location(location.file, location.line, location.column),
        code="not-applied",
    )
