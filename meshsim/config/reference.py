"""The scenario-format reference (``docs/scenario-format.md``), generated from the schema.

    python -m meshsim.config.reference > docs/scenario-format.md

Every field of the ``kind: Scenario`` document with its type as a user writes it (a duration,
a rate, a latency distribution...), its default, its bounds and why (``le=``/``ge=`` and the
``x-limit`` reasons of :mod:`meshsim.config.limits`), and its description (``Field``
description, else the comment on its line in :mod:`meshsim.config.schema`). A test compares
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
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from meshsim.config import distributions, fields, limits, schema
from meshsim.units import format_duration

COMMAND = "python -m meshsim.config.reference > docs/scenario-format.md"

# Field types that carry a unit, recognised by the validator objects their Annotated holds.
_KINDS: tuple[tuple[Any, str], ...] = (
    (fields.PositiveDuration, "duration > 0"),
    (fields.Duration, "duration"),
    (fields.Rate, "rate"),
    (fields.Probability, "probability"),
    (fields.LatencyChange, "latency change"),
    (schema.Latency, "latency distribution"),
    (schema.Name, "name"),
)
_UNITS = {"duration > 0": "s", "duration": "s", "rate": "/s"}

# What a field means where neither a ``Field(description=...)`` nor a comment in the schema
# says it. A test fails when a field has no description from any source, or a note names a
# field that no longer exists.
S = schema
NOTES: dict[tuple[type[BaseModel], str], str] = {
    (S.ScenarioDocument, "apiVersion"): "The version of this format.",
    (S.ScenarioDocument, "kind"): "Marks the scenario document of the YAML stream.",
    (S.ScenarioDocument, "metadata"): "Name and description of the scenario.",
    (S.ScenarioDocument, "spec"): "The scenario itself.",
    (S.Metadata, "description"): "Free text, kept in the run's `run.json`.",
    (S.ScenarioSpec, "mesh"): "Whose proxy semantics and defaults apply: Envoy as Istio "
    "configures it, linkerd2-proxy, or no sidecars at all.",
    (S.ScenarioSpec, "meshVersion"): "The mesh release whose version-dependent defaults apply "
    "(default: the current releases).",
    (S.ScenarioSpec, "duration"): "Simulated time of the run (`--duration` overrides it).",
    (S.ScenarioSpec, "warmup"): "Left out of summary statistics; shorter than `duration`.",
    (S.ScenarioSpec, "seed"): "Root random seed: the same seed gives the same frames "
    "(`--seed` overrides it).",
    (S.ScenarioSpec, "network"): "The network between pods.",
    (S.ScenarioSpec, "proxy"): "The sidecar proxies.",
    (S.ScenarioSpec, "cancellation"): "What a pod does with a request whose caller gave up: "
    "`none` works on (as real servers do), `queued` drops it if not started yet, `deadline` "
    "propagates the caller's deadline (gRPC style).",
    (S.ScenarioSpec, "services"): "The services, by name.",
    (S.ScenarioSpec, "workload"): "The load: one entry per source of requests.",
    (S.ScenarioSpec, "faults"): "The chaos timeline (mesh fault injection comes from "
    "VirtualService manifests).",
    (S.ScenarioSpec, "manifests"): "Mesh manifest files or globs, relative to the scenario "
    "file.",
    (S.ScenarioSpec, "expect"): "SLOs: `meshsim run` exits 1 when one fails.",
    (S.ScenarioSpec, "rollout"): "When a Flagger or Argo rollout's new revision lands.",
    (S.ServiceSpec, "errors"): "Share of requests the handler fails (500).",
    (S.ServiceSpec, "calls"): "Downstream calls each request makes, in order; a failed "
    "required call makes the handler answer 500.",
    (S.ServiceSpec, "versions"): "Subsets (releases) by name, each a deployment of its own; "
    "labels default to `{version: <name>}`.",
    (S.ServiceSpec, "namespace"): "Kubernetes namespace; manifest hosts resolve as "
    "Kubernetes resolves them (`reviews`, `reviews.prod`, `reviews.prod.svc.cluster.local`).",
    (S.ServiceSpec, "contention"): "How requests in a pod share it (a string is the model).",
    (S.ServiceSpec, "labels"): "Pod labels, matched by manifests' selectors.",
    (S.VersionSpec, "replicas"): "Pods of this version.",
    (S.VersionSpec, "concurrency"): "Replaces the service's `concurrency`.",
    (S.VersionSpec, "queue"): "Replaces the service's `queue`.",
    (S.VersionSpec, "latency"): "Replaces the service's `latency`.",
    (S.VersionSpec, "errors"): "Replaces the service's `errors`.",
    (S.VersionSpec, "labels"): "Pod labels of this version (default `{version: <name>}`).",
    (S.VersionSpec, "calls"): "Replaces the service's `calls`.",
    (S.VersionSpec, "contention"): "Replaces the service's `contention`.",
    (S.CallSpec, "service"): "The service called (a string entry is this alone).",
    (S.CallSpec, "path"): "Request path, matched by routes.",
    (S.CallSpec, "method"): "HTTP method, matched by routes.",
    (S.CallSpec, "headers"): "Request headers, matched by routes.",
    (S.CallSpec, "probability"): "Share of requests that make this call.",
    (S.CallSpec, "optional"): "A failed optional call does not fail the handler.",
    (S.CallSpec, "parallel"): "Calls made at the same time (fan-out); takes no other field.",
    (S.ContentionSpec, "model"): "`fifo` worker slots, `processor-sharing` over `cores`, or "
    "`inflight`: service time grows with the requests in flight.",
    (S.ContentionSpec, "cores"): "Cores the requests share (processor-sharing only).",
    (S.ContentionSpec, "factor"): "Service-time growth per request in flight (inflight only).",
    (S.WorkloadSpec, "name"): "Names the workload and its client proxies (`<name>-<i>`).",
    (S.WorkloadSpec, "target"): "The service the requests go to.",
    (S.WorkloadSpec, "rate"): "A rate, or a schedule of steps `[{at: 0s, rate: 100/s}, ...]` "
    "in increasing `at`.",
    (S.WorkloadSpec, "arrival"): "Poisson arrivals or evenly spaced ones.",
    (S.WorkloadSpec, "clients"): "Client sidecars the load comes from, each with its own "
    "proxy state.",
    (S.WorkloadSpec, "request"): "The request sent, or a weighted mix of them.",
    (S.RequestSpec, "method"): "HTTP method, matched by routes.",
    (S.RequestSpec, "path"): "Request path, matched by routes.",
    (S.RequestSpec, "headers"): "Request headers, matched by routes.",
    (S.RequestSpec, "weight"): "Share of the mix.",
    (S.RateStepSpec, "at"): "When this step starts.",
    (S.RateStepSpec, "rate"): "Requests per second from then on.",
    (S.FaultSpec, "at"): "When the fault starts; before the end of the run.",
    (S.FaultSpec, "for"): "How long it lasts.",
    (S.FaultSpec, "target"): "A service, `service/version` or a pod (`ratings-0`).",
    (S.FaultSpec, "latency"): "Slower service: `x10` or `+50ms`.",
    (S.FaultSpec, "errors"): "Share of requests failed while it lasts.",
    (S.FaultSpec, "down"): "The target's pods stop answering.",
    (S.ExpectSpec, "metric"): "What is measured, as in the summary frame.",
    (S.ExpectSpec, "service"): "The service, or a workload for its end-to-end requests.",
    (S.ExpectSpec, "subset"): "One version (subset) of the service only.",
    (S.ExpectSpec, "window"): "`[start, end]` of simulated time (default: from the end of "
    "warm-up to the end of the run).",
    (S.ExpectSpec, "min"): "Lowest value that passes, in the metric's unit: a duration for "
    "latencies, `99%` or `0.99` for shares, `400/s` for rps.",
    (S.ExpectSpec, "max"): "Highest value that passes, in the metric's unit (as `min`).",
    (S.RolloutSpec, "start"): "Simulated time the new revision lands (default: the end of "
    "warm-up).",
}


def _markers() -> dict[int, str]:
    found = {}
    for annotation, kind in _KINDS:
        for meta in getattr(annotation, "__metadata__", ()):
            if not isinstance(meta, FieldInfo):
                found[id(meta)] = kind
    return found


_MARKERS = _markers()


# -- type names ---------------------------------------------------------------------------------
def _kind(metadata: list[Any]) -> str | None:
    return next((_MARKERS[id(m)] for m in metadata if id(m) in _MARKERS), None)


def _choices(metadata: list[Any]) -> tuple[str, ...] | None:
    """The options of a :func:`meshsim.config.fields.choice` validator, read from its closure."""
    for meta in metadata:
        func = getattr(meta, "func", None)
        code, cells = getattr(func, "__code__", None), getattr(func, "__closure__", None)
        if code is None or cells is None or "options" not in code.co_freevars:
            continue
        return tuple(cells[code.co_freevars.index("options")].cell_contents)
    return None


def type_name(annotation: Any, metadata: list[Any] | None = None) -> str:
    """What a user writes, e.g. ``list of [call](#call)``, ``duration``, ``one of `a`, `b```."""
    metadata = list(metadata or [])
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0], [*metadata, *annotation.__metadata__])
    kind, options = _kind(metadata), _choices(metadata)
    if kind:
        return kind
    if options is not None:
        return "one of " + ", ".join(f"`{o}`" for o in options)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        named = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(named)
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"map of {type_name(args[0])} to {type_name(args[1])}"
    if origin is tuple:
        return "pair"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{_title(annotation)}](#{_anchor(annotation)})"
    return {int: "integer", float: "number", str: "string", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models a field's type holds, in order (``list[CallEntry]`` → CallSpec)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        if not isinstance(arg, str | int | float):
            yield from _models(arg)


# -- defaults and bounds ------------------------------------------------------------------------
def _seconds(value: float) -> str:
    if value == 0:
        return "0s"
    for size, unit in ((3600, "h"), (60, "m")):
        if value >= size and value % size == 0:
            return f"{value / size:g}{unit}"
    return format_duration(value)


def _number(value: float, unit: str = "") -> str:
    if unit == "s":
        return _seconds(value)
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"
    return text + unit


def default_text(info: FieldInfo, kind: str) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "see below" if value.model_fields_set else "all defaults"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "one, all defaults"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{_number(value, _UNITS.get(kind, ''))}`"
    if value == "" or value == [] or value == {}:
        return {"": "empty", "[]": "`[]`", "{}": "`{}`"}[repr(value).replace("''", "")]
    return f"`{value}`"


def bounds_text(info: FieldInfo, kind: str) -> str:
    """``1 to 1,000`` or ``at most 100 entries``, with the limit's reason (durations and rates
    give theirs once, under Limits)."""
    unit = _UNITS.get(kind, "")
    metadata, why = _constraints(info)
    lows: list[str] = []
    highs: list[str] = []
    items: list[str] = []
    for meta in metadata:
        if isinstance(meta, annotated_types.Ge):
            lows.append(f"≥ {_number(float(meta.ge), unit)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Gt):
            lows.append(f"> {_number(float(meta.gt), unit)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Le):
            highs.append(f"≤ {_number(float(meta.le), unit)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Lt):
            highs.append(f"< {_number(float(meta.lt), unit)}")  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.MinLen):
            items.append(f"at least {meta.min_length}")
        elif isinstance(meta, annotated_types.MaxLen):
            items.append(f"at most {_number(meta.max_length)}")
    if kind == "probability":
        lows, highs = ["0"], ["1 (or 0% to 100%)"]
    if kind == "duration > 0" and not lows:
        lows = ["> 0s"]
    parts = []
    if lows and highs and lows[0].startswith("≥") and highs[0].startswith("≤"):
        parts.append(f"{lows[0][2:]} to {highs[0][2:]}")
    elif lows and highs and kind == "probability":
        parts.append(f"{lows[0]} to {highs[0]}")
    else:
        parts += lows + highs
    if items:
        parts.append(" and ".join(items) + " entries")
    text = ", ".join(parts) or "-"
    return f"{text} ({why})" if why and unit == "" else text


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


_TITLES = {
    schema.ScenarioDocument: "document", schema.ScenarioSpec: "spec",
    schema.ServiceSpec: "service", schema.VersionSpec: "version", schema.CallSpec: "call",
    schema.WorkloadSpec: "workload", schema.RequestSpec: "request",
    schema.RateStepSpec: "rate step", schema.FaultSpec: "fault", schema.ExpectSpec: "expectation",
}


def _title(model: type[BaseModel]) -> str:
    name = model.__name__.removesuffix("Spec").removesuffix("Document")
    return _TITLES.get(model, name.lower() or model.__name__)


def _anchor(model: type[BaseModel]) -> str:
    return _title(model).replace(" ", "-")


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


def _constraints(info: FieldInfo) -> tuple[list[Any], str | None]:
    """Bounds and the limit's reason of a field, also when its type is ``Replicas | None``."""
    metadata, extras = list(info.metadata), [info.json_schema_extra]
    if typing.get_origin(info.annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(info.annotation):
            if typing.get_origin(arg) is typing.Annotated:
                for meta in arg.__metadata__:
                    if isinstance(meta, FieldInfo):
                        metadata += meta.metadata
                        extras.append(meta.json_schema_extra)
    why = next((e["x-limit"] for e in extras if isinstance(e, dict) and "x-limit" in e), None)
    return metadata, None if why is None else str(why)


def _row(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    kind = type_name(info.annotation, list(info.metadata))
    cells = [
        f"`{info.alias or name}`", kind, default_text(info, _kind_of(info)),
        bounds_text(info, _kind_of(info)), description(model, name, info),
    ]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _kind_of(info: FieldInfo) -> str:
    found = _kind(list(info.metadata))
    if found:
        return found
    annotation = info.annotation
    for arg in typing.get_args(annotation):  # Duration | None
        if typing.get_origin(arg) is typing.Annotated:
            return _kind(list(arg.__metadata__)) or ""
    return ""


def _section(section: Section) -> list[str]:
    model = section.model
    paths = ", ".join(f"`{p}`" if p else "the document" for p in section.paths)
    lines = [f"## {_title(model)}", "", f"At {paths}."]
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
            shown = _number(value.maximum, value.unit) if value.unit in ("s", "/s") else (
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
        f"`{name}({', '.join(params)})`" for name, params in distributions._PARAMS.items()
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
