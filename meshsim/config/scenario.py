"""Loading a scenario end to end: YAML stream → overrides → schema → manifests → model.

:class:`Scenario` keeps the text it came from, so ``with_overrides`` re-runs the pipeline on the
same input (no second read of the scenario file) and a sweep can vary one value at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from meshsim.config import istio, linkerd, rollout, yamlsrc
from meshsim.config.bindings import ServiceBinding, service_bindings, unapplied
from meshsim.config.compile import compile_model
from meshsim.config.errors import from_validation_error
from meshsim.config.locator import OVERRIDE_FILE, Locator
from meshsim.config.manifests import (
    Manifest,
    check_unique,
    classify,
    load_manifest_file,
    manifest_files,
    pending_warning,
    split_scenario,
)
from meshsim.config.overrides import (
    Override,
    apply_to_manifest,
    apply_to_scenario,
    find_manifest,
    parse_overrides,
)
from meshsim.config.schema import ScenarioDocument, ScenarioSpec
from meshsim.config.shorten import shorten
from meshsim.config.yamlsrc import Document, YamlPath, load_stream
from meshsim.errors import ConfigWarning, Location, ScenarioError, UnitError
from meshsim.model import Model
from meshsim.model.policy import TrafficPolicy, gateway_for
from meshsim.units import parse_duration

_MESH_VERSION: YamlPath = ("spec", "meshVersion")
DURATION = "spec.duration"  # what --duration and simulate(duration=) override


@dataclass
class Source:
    """The scenario text and every manifest file read for it, keyed by the name shown to users."""

    path: Path
    text: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return str(self.path)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def read(self, file: str) -> str:
        if file not in self.files:
            self.files[file] = read_text(Path(file), "manifests file")
        return self.files[file]


@dataclass(frozen=True)
class Scenario:
    """A loaded, validated and compiled scenario, ready for :func:`meshsim.simulate`."""

    path: Path
    name: str
    model: Model
    manifests: list[Manifest]
    warnings: list[ConfigWarning]
    document: ScenarioDocument
    source: Source = field(repr=False)
    overrides: Mapping[str, object] = field(default_factory=dict)
    strict: bool = False
    manifest_files: tuple[str, ...] = ()

    @property
    def spec(self) -> ScenarioSpec:
        """The validated ``spec`` section (pydantic), for tools that need what was written."""
        return self.document.spec

    def with_overrides(self, overrides: Mapping[str, object]) -> Scenario:
        """A new Scenario with ``overrides`` added to the ones already applied."""
        return build(self.source, {**self.overrides, **overrides}, self.strict)

    def with_duration(self, duration: str | float) -> Scenario:
        """The same scenario over ``duration`` (``"30s"``, or seconds): the override
        ``spec.duration``, checked and cut as :mod:`meshsim.config.shorten` says."""
        if isinstance(duration, int | float) and not isinstance(duration, bool):
            duration = seconds_text(float(duration))
        return self.with_overrides({DURATION: duration})

    def bindings(self) -> list[ServiceBinding]:
        """Per service: namespace, sidecar or not and why, and the manifests bound to it."""
        return service_bindings(self.model, self.manifests)

    def metadata(self) -> dict[str, Any]:
        """What a run records about its input: enough to tell two runs' scenarios apart."""
        digest = hashlib.sha256(self.source.text.encode())
        for file in self.manifest_files:
            digest.update(b"\0" + self.source.files[file].encode())
        return {
            "name": self.name,
            "description": self.document.metadata.description,
            "file": str(self.path),
            "sha256": digest.hexdigest(),
            "overrides": dict(self.overrides),
            "mesh": self.spec.mesh,
            "mesh_version": self.spec.meshVersion,
        }


def load_scenario(
    path: Path, overrides: Mapping[str, object] | None = None, strict: bool = False,
    *, leave_out: frozenset[tuple[str, str, str]] = frozenset(),
) -> Scenario:
    """Read, validate and compile the scenario at ``path`` and the manifests it names.

    ``leave_out``: manifests (kind, name, namespace) to ignore, for ``meshsim analyze`` to
    check the rest of a scenario after one manifest named something missing.
    """
    path = Path(path)
    source = Source(path, read_text(path, "scenario file"))
    return build(source, dict(overrides or {}), strict, leave_out)


def load_scenario_text(
    text: str,
    base_dir: Path,
    filename: str = "<string>",
    overrides: Mapping[str, object] | None = None,
    strict: bool = False,
) -> Scenario:
    """A scenario from a string (tests, notebooks); relative files resolve from ``base_dir``."""
    return build(Source(Path(base_dir) / filename, text), dict(overrides or {}), strict)


def read_text(path: Path, what: str) -> str:
    return yamlsrc.read_text(path, what)  # bounded: /dev/zero or a 10 GB file is refused


def build(source: Source, overrides: Mapping[str, object], strict: bool,
          leave_out: frozenset[tuple[str, str, str]] = frozenset()) -> Scenario:
    """The whole pipeline on one source; every user mistake is one ScenarioError."""
    scenario_doc, inline = split_scenario(load_stream(source.text, source.file), source.file)
    parsed = parse_overrides(overrides)
    own = [o for o in parsed if o.kind is None]
    cut = _shorter_duration(own, _as_dict(scenario_doc))
    data, done = apply_to_scenario(_as_dict(scenario_doc), [o for o in own if o is not cut])
    _keep_version_text(data, scenario_doc, overrides)
    locator = Locator(source.file, scenario_doc.positions, data, done)
    document = validate(data, locator)
    files = manifest_files(document.spec.manifests, source.base_dir, source.path, locator)
    documents = inline + [d for f in files for d in load_manifest_file(f, source.read)]
    manifests = _manifests(documents, [o for o in parsed if o.kind], document.spec.mesh)
    if leave_out:
        manifests = [m for m in manifests if (m.kind, m.name, m.namespace) not in leave_out]
    model = compile_model(document, locator, source.base_dir, source.path.stem)
    model, warnings = _translate(model, manifests, document.spec, locator)
    warnings = [*warnings, *unapplied(model, manifests)]  # injection left a manifest idle
    if cut is not None:
        origin = Location(file=OVERRIDE_FILE, path=cut.written)
        model, clipped = shorten(model, _seconds(cut.value), origin=origin,
                                 locate=locator.locate)
        warnings = [*clipped, *warnings]
    if strict and warnings:
        first = warnings[0]
        raise ScenarioError(f"{first.message} (an error under strict mode)", first.location)
    return Scenario(
        path=source.path, name=model.name, model=model, manifests=manifests, warnings=warnings,
        document=document, source=source, overrides=dict(overrides), strict=strict,
        manifest_files=tuple(files),
    )


def _translate(
    model: Model, manifests: list[Manifest], spec: ScenarioSpec, locator: Locator
) -> tuple[Model, list[ConfigWarning]]:
    """Apply the mesh's translator; manifests no translator reads get a named warning."""
    if spec.mesh == "linkerd":
        result = linkerd.translate(manifests, model.topology, version=spec.meshVersion)
        rest = [pending_warning(m) for m in manifests
                if not linkerd.reads(m) and not rollout.reads(m)]
        return _deliver(replace(model, policy=result.policy), manifests, spec,
                        [*result.warnings, *rest])
    if spec.mesh != "istio":
        return model, [pending_warning(m) for m in manifests]
    try:
        translation = istio.translate(manifests, model.topology, version=spec.meshVersion)
    except ScenarioError as exc:
        if exc.location.line is None and exc.location.path == "spec.meshVersion":
            raise ScenarioError(exc.message, locator.locate(("spec", "meshVersion"))) from None
        raise
    read = [m for m in manifests
            if m.family == "istio" or m.kind == "Namespace" or rollout.reads(m)]
    read_ids = {id(m) for m in read}  # identity, not dataclass equality: linear in manifests
    rest = [pending_warning(m) for m in manifests if id(m) not in read_ids]
    model, warnings = _deliver(replace(model, policy=translation.policy), manifests, spec,
                               [*translation.warnings, *rest])
    assert model.policy is not None
    _check_gateway_targets(model, model.policy, locator)  # Flagger may bind gateway hosts
    return model, warnings


def _deliver(model: Model, manifests: list[Manifest], spec: ScenarioSpec,
             warnings: list[ConfigWarning]) -> tuple[Model, list[ConfigWarning]]:
    """Flagger and Argo Rollouts on top of the mesh's policy (``spec.rollout.start``)."""
    if model.policy is None or not any(rollout.reads(m) for m in manifests):
        return model, warnings
    start = spec.warmup if spec.rollout.start is None else spec.rollout.start
    result = rollout.translate(manifests, model.topology, model.policy, mesh=spec.mesh,
                                start=start, version=spec.meshVersion)
    model = replace(model, policy=result.policy, rollouts=result.rollouts,
                    workloads=(*model.workloads, *result.workloads))
    return model, [*warnings, *result.warnings]


def _check_gateway_targets(model: Model, policy: TrafficPolicy, locator: Locator) -> None:
    """A workload target that is no service must be a host some Gateway serves."""
    services = model.topology.services
    for i, workload in enumerate(model.workloads):
        if workload.target in services:
            continue
        if gateway_for(policy, workload.target) is None:
            served = sorted({h for g in policy.gateways.values() for h in g.hosts})
            hint = f"; gateways serve {', '.join(served)}" if served else ""
            raise ScenarioError(
                f"workload target {workload.target!r} is not a service nor a host any Gateway "
                f"serves{hint}",
                locator.locate(("spec", "workload", i, "target")),
            )


def validate(data: Mapping[str, Any], locator: Locator) -> ScenarioDocument:
    try:
        return ScenarioDocument.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, locator, ScenarioDocument) from None


def _seconds(value: object) -> float:
    try:
        return parse_duration(value, allow_zero=False)
    except UnitError:
        return float("nan")


def seconds_text(seconds: float) -> str:
    """``30.0`` → ``'30s'``: seconds as a duration the schema reads."""
    return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"


def _shorter_duration(overrides: Sequence[Override], data: Mapping[str, Any]) -> Override | None:
    """The ``spec.duration`` override when it cuts the file's run short, else None.

    A longer (or malformed) one is an ordinary override, validated like the written field;
    a shorter one is applied after validation by :func:`shorten`.
    """
    found = [o for o in overrides if o.rest == DURATION]
    spec = data.get("spec")
    if not found or not isinstance(spec, dict):
        return None
    written, wanted = _seconds(spec.get("duration")), _seconds(found[-1].value)
    return found[-1] if wanted < written else None  # NaN compares False


def _as_dict(document: Document) -> dict[str, Any]:
    assert isinstance(document.data, dict)  # split_scenario only passes mappings
    return document.data


def _keep_version_text(
    data: dict[str, Any], document: Document, overrides: Mapping[str, object]
) -> None:
    """``meshVersion: 1.20`` is the float 1.2 to YAML; use the text as written instead."""
    spec = data.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("meshVersion"), int | float):
        return
    written = overrides.get("spec.meshVersion", document.scalars.get(_MESH_VERSION))
    if isinstance(written, str):
        spec["meshVersion"] = written.strip()


def _manifests(
    documents: Sequence[Document], overrides: Sequence[Override], mesh: str
) -> list[Manifest]:
    keys = [_kind_and_name(d) for d in documents]
    addressed: dict[tuple[str, str], list[Override]] = {}
    for override in overrides:
        addressed.setdefault(find_manifest(override, keys), []).append(override)
    manifests = []
    for document, key in zip(documents, keys, strict=True):
        data, done = apply_to_manifest(_as_dict(document), key[1], addressed.get(key, []))
        manifests.append(classify(document, data, mesh, done))
    check_unique(manifests)
    return manifests


def _kind_and_name(document: Document) -> tuple[str, str]:
    data = _as_dict(document)
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return str(data.get("kind", "")), str(name or "")
