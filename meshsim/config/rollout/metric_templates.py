"""Flagger ``MetricTemplate``\\ s referenced by ``analysis.metrics[].templateRef`` → checks.

``scheduler_metrics.go`` ``runMetricChecks`` finds the template (``templateRef.namespace``, else
the Canary's), picks the provider (``providers/factory.go``: ``prometheus``, or any type it does
not know, is Prometheus) and renders the query with Go templates over ``toMetricModel``:
``{{ name }}`` the Canary's name, ``{{ namespace }}`` its namespace, ``{{ target }}`` the
``targetRef`` name, ``{{ service }}`` ``service.name`` (else the target), ``{{ ingress }}`` /
``{{ route }}`` ``ingressRef`` / ``routeRef`` names (else the target), ``{{ interval }}`` the
metric's ``interval`` as written and ``{{ variables.x }}`` its ``templateVariables``. The value
passes when inside ``thresholdRange`` (legacy ``threshold``: a maximum); no value (no series,
or 0/0) is "no values found", a failed check. meshsim recognises the rendered PromQL by its
shape (:mod:`.promql`) and measures it on the simulated traffic: during a rollout the target
Deployment is the canary and ``<target>-primary`` the primary, so ``deployment=~"{{ target }}"``
measures the canary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.context import Context
from meshsim.config.rollout.measures import measure_of
from meshsim.config.rollout.promql import SHAPES, QueryError, read_query
from meshsim.model.rollout import FlaggerCheck, Version

MetricTemplates = Mapping[tuple[str, str], Manifest]  # (namespace, name) → MetricTemplate
NOT_BUILT = ("datadog", "cloudwatch", "newrelic", "graphite", "stackdriver", "influxdb",
             "dynatrace", "keptn", "splunk", "signoz", "chronosphere", "appdynamicscloud",
             "skywalking", "azuremonitor")
_VARIABLE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_MODEL = ("name", "namespace", "target", "service", "ingress", "route")


@dataclass(frozen=True)
class TemplateModel:
    """``toMetricModel``'s fields that do not depend on the metric, and who the target is."""

    values: Mapping[str, str]  # name, namespace, target, service, ingress, route
    workloads: Mapping[str, Version]  # Deployment name → the version it runs


def template_model(canary: Manifest, primary: Version, new: Version) -> TemplateModel:
    spec = Node.root(canary)["spec"]
    target = spec["targetRef"]["name"].string()
    values = {
        "name": canary.name, "namespace": canary.namespace, "target": target,
        "service": spec["service"]["name"].string(target) or target,
        "ingress": spec["ingressRef"]["name"].string(target) or target,
        "route": spec["routeRef"]["name"].string(target) or target,
    }
    return TemplateModel(values, {target: new, f"{target}-primary": primary})


def template_check(metric: Node, model: TemplateModel, templates: MetricTemplates,
                   ctx: Context) -> FlaggerCheck:
    """The check of one ``analysis.metrics`` entry with a ``templateRef``."""
    name = metric["name"].string()
    template = _template(metric["templateRef"], metric.manifest.namespace, templates)
    spec = Node.root(template)["spec"]
    _provider(spec["provider"], template)
    query_node = spec["query"]
    if not query_node.present:
        raise spec.error(f"{template.key} needs a query")
    text = _render(query_node, metric, model)
    try:
        query = read_query(text)
    except QueryError as exc:
        raise query_node.error(f"cannot read the query of {template.key} (rendered for metric "
                               f"{name!r}: {' '.join(text.split())}): {exc}; meshsim reads "
                               f"{SHAPES}") from None
    low, high = _bounds(metric, name)
    return FlaggerCheck(name, measure_of(query, query_node, ctx, model.workloads), low, high,
                        template=template.key)


def _template(ref: Node, namespace: str, templates: MetricTemplates) -> Manifest:
    name = ref["name"].string()
    if not name:
        raise ref.error("templateRef needs a name")
    space = ref["namespace"].string(namespace) or namespace
    found = templates.get((space, name))
    if found is None:
        known = ", ".join(sorted(f"{s}/{n}" for s, n in templates)) or "none"
        raise ref["name"].error(f"MetricTemplate {space}/{name} is not among the manifests "
                                f"(MetricTemplates: {known})")
    return found


def _provider(node: Node, template: Manifest) -> None:
    kind = node["type"].string("prometheus") or "prometheus"
    if kind in NOT_BUILT:
        raise node["type"].error(f"{template.key}: provider {kind} is not built (meshsim "
                                 "measures Prometheus queries of the mesh's own metrics)")


def _render(node: Node, metric: Node, model: TemplateModel) -> str:
    """``RenderQuery``: the template's variables replaced; an unknown one is a located error
    (Flagger's render fails, and the check fails on every tick)."""
    variables = metric["templateVariables"]

    def value(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr in model.values:
            return model.values[expr]
        if expr == "interval":
            if not metric.has("interval"):
                raise metric.error(f"metric {metric['name'].string()!r} needs an interval: "
                                   "Flagger renders {{ interval }} from it, and an empty "
                                   "range [] is no valid PromQL")
            return metric["interval"].string()
        if expr.startswith("variables."):
            key = expr.removeprefix("variables.")
            if not variables.has(key):
                given = ", ".join(k for k, _ in variables.entries()) or "none"
                raise metric.error(f"the query of the template uses {{{{ {expr} }}}} but this "
                                   f"metric's templateVariables has no {key!r} (given: {given})")
            return variables[key].string()
        known = ", ".join([*_MODEL, "interval", "variables.<key>"])
        raise node.error(f"{{{{ {expr} }}}} is no variable of Flagger's metric template model "
                         f"({known})")

    return _VARIABLE.sub(value, node.string())


def _bounds(metric: Node, name: str) -> tuple[float | None, float | None]:
    bounds = metric["thresholdRange"]
    low = bounds["min"].number() if bounds.has("min") else None
    high = bounds["max"].number() if bounds.has("max") else None
    if metric.has("threshold") and not bounds.present:
        high = metric["threshold"].number()  # runMetricChecks: val > threshold halts
    if low is None and high is None:
        raise metric.error(f"metric {name!r} needs thresholdRange min or max")
    return low, high
