"""An Argo Rollout's analysis: AnalysisTemplates resolved with their args → :class:`ArgoAnalysis`.

Apart from :mod:`.argo` because it reads other manifests (``AnalysisTemplate`` and
``ClusterAnalysisTemplate``), substitutes ``{{args.*}}`` and applies Argo's ``ValidateMetric``
rules; the Rollout's steps only name it. Prometheus queries become :class:`Measure`\\ s
(:mod:`.promql`) and the conditions :data:`Condition`\\ s (:mod:`.conditions`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.conditions import parse_condition
from meshsim.config.rollout.context import Context, go_duration
from meshsim.config.rollout.measures import measure_of
from meshsim.config.rollout.promql import SHAPES, QueryError, read_query
from meshsim.model.rollout import ArgoAnalysis, ArgoMetric

Templates = Mapping[tuple[str, str], Manifest]  # (kind, "namespace/name" or name) → template
_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


def translate_analysis(node: Node, manifest: Manifest, templates: Templates,
              ctx: Context) -> ArgoAnalysis:
    refs = node["templates"].items()
    if not refs:
        raise node.error("analysis needs templates")
    given = {a["name"].string(): a for a in node["args"].items()}
    metrics: list[ArgoMetric] = []
    names: list[str] = []
    for ref in refs:
        template = _template(ref, manifest.namespace, templates)
        names.append(template.name)
        args = _args(Node.root(template)["spec"]["args"], given)
        for metric in Node.root(template)["spec"]["metrics"].items():
            metrics.append(_metric(metric, args, ctx))
    return ArgoAnalysis("+".join(names), tuple(metrics))


def _template(ref: Node, namespace: str, templates: Templates) -> Manifest:
    name = ref["templateName"].string()
    kind = "ClusterAnalysisTemplate" if ref["clusterScope"].boolean() else "AnalysisTemplate"
    key = name if kind == "ClusterAnalysisTemplate" else f"{namespace}/{name}"
    found = templates.get((kind, key))
    if found is None:
        known = sorted(n for k, n in templates if k == kind)
        raise ref["templateName"].error(f"{kind} {name!r} is not among the manifests "
                                        f"({kind}s: {', '.join(known) or 'none'})")
    return found


def _args(declared: Node, given: Mapping[str, Node]) -> dict[str, Node]:
    """Template args with the Rollout's values: the Rollout's win, as Argo merges them."""
    out = {a["name"].string(): a for a in declared.items()}
    out.update(given)
    return out


def _substitute(node: Node, args: Mapping[str, Node]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        arg = args.get(name)
        if arg is None:
            raise node.error(f"{{{{args.{name}}}}} names no argument (declared: "
                             f"{', '.join(sorted(args)) or 'none'})")
        if not arg.has("value"):
            why = "its valueFrom is not resolved by meshsim" if arg.has("valueFrom") else \
                "it has no value"
            raise arg.error(f"argument {name!r} is used at {node.location.prefix()} but {why}; "
                            "give it a value")
        return arg["value"].string()

    return _ARG.sub(value, node.string())


def _metric(metric: Node, args: Mapping[str, Node], ctx: Context) -> ArgoMetric:
    if not metric["name"].present:
        raise metric.error("a metric needs a name (the AnalysisTemplate CRD requires it)")
    name = metric["name"].string()
    provider = metric["provider"]
    others = [k for k, _ in provider.entries() if k != "prometheus"]
    if others or not provider.has("prometheus"):
        raise provider.error(f"metric {name!r}: provider {', '.join(others) or 'none'} is not "
                             "built (meshsim reads provider.prometheus.query)")
    query_node = provider["prometheus"]["query"]
    if not query_node.present:
        raise provider["prometheus"].error("provider.prometheus needs a query")
    text = _substitute(query_node, args)
    try:
        query = read_query(text)
    except QueryError as exc:
        raise query_node.error(f"cannot read this query: {exc}; meshsim reads {SHAPES}") from None
    limits = _limits(metric)
    return ArgoMetric(
        name=name,
        measure=measure_of(query, query_node, ctx),
        success=parse_condition(metric["successCondition"], vector=True),
        failure=parse_condition(metric["failureCondition"], vector=True),
        interval=_interval(metric["interval"]),
        count=limits["count"],
        initial_delay=go_duration(metric["initialDelay"], 0.0),
        failure_limit=limits["failureLimit"],
        inconclusive_limit=limits["inconclusiveLimit"],
        consecutive_error_limit=limits["consecutiveErrorLimit"],
    )


def _interval(node: Node) -> float:
    """A written interval of 0 would measure in a busy loop: Argo requeues at once."""
    seconds = go_duration(node, 0.0)
    if node.present and seconds <= 0:
        raise node.error(f"interval must be greater than zero, got {node.string()!r}")
    return seconds


def _limits(metric: Node) -> dict[str, int]:
    """``count`` and the limits, as ``ValidateMetric`` accepts them (else the AnalysisRun ends
    Error at once, "analysis spec invalid", and the rollout aborts)."""
    why = "Argo's ValidateMetric rejects it: the AnalysisRun would end Error at once"
    values = {"count": 0, "failureLimit": 0, "inconclusiveLimit": 0, "consecutiveErrorLimit": 4}
    for key, default in values.items():
        node = metric[key]
        values[key] = node.integer(default)
        if values[key] < 0:
            raise node.error(f"{key} must be >= 0 ({why})")
    count = values["count"]
    for key in ("failureLimit", "inconclusiveLimit"):
        if 0 < count < values[key]:
            raise metric[key].error(f"count must be >= {key} ({why})")
    if count > 1 and not metric["interval"].present:
        raise metric["count"].error(f"interval must be specified when count > 1 ({why})")
    return values
