"""A recognised Prometheus query (:mod:`.promql`) → the :class:`Measure` of one version.

The query's destination label names whose traffic it counts: a service label (``dst_service``,
``destination_service_name``, ...) resolves to a scenario service, a version label
(``destination_version``, ...) to one of its versions. Flagger's templates select workloads by
Deployment name instead (``deployment=~"{{ target }}"``): during a Flagger rollout the target
Deployment runs the canary and ``<target>-primary`` the primary, so the caller passes those
names in ``workloads``. Argo and Flagger share this reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from meshsim.config.manifest.nodes import Node
from meshsim.config.rollout.context import Context
from meshsim.config.rollout.promql import Query
from meshsim.config.rollout.targets import require_version
from meshsim.model.rollout import Measure, Version

DESTINATION = {
    "istio": ("destination_service", "destination_service_name", "destination_workload",
              "destination_app", "destination_canonical_service"),
    "linkerd": ("dst_service", "deployment", "dst_deployment", "service", "authority"),
}
WORKLOAD = ("deployment", "dst_deployment", "destination_workload")
SUBSET = ("destination_version", "destination_canonical_revision", "version")
IGNORED = ("reporter", "direction", "response_code", "classification", "le", "namespace",
           "destination_service_namespace", "destination_workload_namespace", "dst_namespace")


def measure_of(query: Query, node: Node, ctx: Context,
               workloads: Mapping[str, Version] | None = None) -> Measure:
    """What ``query`` (written at ``node``) measures, on the scenario's services."""
    if query.mesh != ctx.mesh:
        raise node.error(f"this query counts {query.mesh.title()} metrics but spec.mesh is "
                         f"{ctx.mesh}")
    version: Version | None = None
    for label in DESTINATION[query.mesh]:
        if label in query.labels:
            version = _version_of(label, query.labels[label], node, ctx, workloads or {})
            break
    if version is None:
        raise node.error(f"the query selects no destination ({', '.join(DESTINATION[query.mesh])}"
                         "): meshsim needs to know whose traffic it measures")
    for label in SUBSET:
        if label in query.labels:
            op, value = query.labels[label]
            version = require_version(ctx.topology, version.service, value, node,
                                      f"the query selects {label}{op}\"{value}\"")
    for label in query.labels:
        if label not in (*DESTINATION[query.mesh], *SUBSET, *IGNORED):
            ctx.diagnostics.warn(node, f"label {label} of the query is not modelled: the "
                                 "measure covers all of the destination's traffic",
                                 code="unmodelled")
    scale = query.scale * (1000.0 if query.kind == "latency" else 1.0)
    return Measure(query.kind, version, window=query.window, quantile=query.quantile,
                   buckets=tuple(b / 1000.0 for b in query.buckets_ms),
                   reporter=query.reporter, scale=scale)


def _version_of(label: str, matcher: tuple[str, str], node: Node, ctx: Context,
                workloads: Mapping[str, Version]) -> Version:
    op, value = matcher
    if op in ("!=", "!~"):
        raise node.error(f"{label}{op}\"{value}\" selects by exclusion, which meshsim does not "
                         "read; select the destination with = or =~")
    name = value.strip("^$")
    if op == "=~":
        name = name.removesuffix(".*")
    name = name.replace("\\.", ".").split(":")[0]
    if re.search(r"[][()|*+?{}\\]", name):
        raise node.error(f"{label}=~\"{value}\" is a regex meshsim cannot resolve to one service")
    if label in WORKLOAD and name in workloads:
        return workloads[name]
    found = ctx.index.resolve(name, node.manifest.namespace)
    if found is None:
        raise node.error(f"{label}{op}\"{value}\" names no service of the scenario"
                         f"{ctx.index.suggestion(name)}")
    return Version(found.service)
