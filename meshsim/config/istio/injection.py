"""Which services get an Istio sidecar: namespace labels and the pod's inject label.

Follows the selectors of Istio's injection webhook (``manifests/charts/istio-control/
istio-discovery/templates/mutatingwebhook.yaml``): a namespace labelled
``istio-injection: enabled`` injects every pod not labelled ``sidecar.istio.io/inject: "false"``;
any other ``istio-injection`` value (``disabled``) injects none; ``istio.io/rev`` injects like
``enabled``; an unlabelled namespace injects only pods labelled ``sidecar.istio.io/inject:
"true"``.

When the scenario carries no Namespace manifest at all, meshsim takes every namespace to be
labelled for injection: every non-external service gets a sidecar unless its labels say
``sidecar.istio.io/inject: "false"``. External services never have one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from meshsim.config.manifests import Manifest
from meshsim.errors import Location
from meshsim.model.topology import Deployment, Topology

from .nodes import Diagnostics, Node

INJECT_LABEL = "sidecar.istio.io/inject"
NAMESPACE_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
AMBIENT_LABEL = "istio.io/dataplane-mode"


def sidecars(topology: Topology, namespaces: Iterable[Manifest],
             diagnostics: Diagnostics) -> dict[str, bool]:
    """Service → whether its pods run an Istio sidecar."""
    manifests = list(namespaces)
    labels = {m.name: _labels(m, diagnostics) for m in manifests}
    out: dict[str, bool] = {}
    for name, service in topology.services.items():
        if service.external:
            out[name] = False
            continue
        ns = labels.get(service.namespace, {}) if manifests else None
        decisions = [_injected(ns, d) for d in service.deployments]
        out[name] = all(decisions)
        if len(set(decisions)) > 1:
            diagnostics.warn(
                _where(manifests, service.namespace, name),
                f"only some versions of {name} carry a sidecar; meshsim decides per service "
                "and treats it as having none",
                code="approximated",
            )
    return out


def _injected(namespace: Mapping[str, str] | None, deployment: Deployment) -> bool:
    pod = deployment.labels.get(INJECT_LABEL)
    if pod == "false":
        return False
    if namespace is None:  # no Namespace manifests: every namespace injects
        return True
    if NAMESPACE_LABEL in namespace:
        return namespace[NAMESPACE_LABEL] == "enabled"
    if REVISION_LABEL in namespace:
        return True
    return pod == "true"


def _labels(manifest: Manifest, diagnostics: Diagnostics) -> dict[str, str]:
    node = Node.root(manifest)["metadata"]["labels"]
    labels = node.string_map()
    if labels.get(AMBIENT_LABEL) == "ambient":
        diagnostics.warn(
            node[AMBIENT_LABEL],
            "ambient mode is not modelled: pods of this namespace get no sidecar in meshsim",
        )
    return labels


def _where(manifests: list[Manifest], namespace: str, service: str) -> Node | Location:
    for manifest in manifests:
        if manifest.name == namespace:
            return Node.root(manifest)
    return Location(path=f"spec.services.{service}")
