"""Which services get an Istio sidecar: namespace labels and the pod's inject label.

Follows the selectors of Istio's injection webhook (``manifests/charts/istio-control/
istio-discovery/templates/mutatingwebhook.yaml``): a namespace labelled
``istio-injection: enabled`` injects every pod not labelled ``sidecar.istio.io/inject: "false"``;
any other ``istio-injection`` value (``disabled``) injects none; ``istio.io/rev`` injects like
``enabled``; an unlabelled namespace injects only pods labelled ``sidecar.istio.io/inject:
"true"``.

A namespace whose ``Namespace`` manifest the scenario does not carry is taken to be labelled
for injection: its non-external services get a sidecar unless their labels say
``sidecar.istio.io/inject: "false"``. So a pasted Namespace for another namespace changes
nothing here; one that leaves services of its own namespace without a sidecar says so in a
warning naming them. External services never have one. :func:`injections` tells why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from meshsim.config.injection import Injection, per_service
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.errors import Location
from meshsim.model.topology import Deployment, Topology

INJECT_LABEL = "sidecar.istio.io/inject"
NAMESPACE_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
AMBIENT_LABEL = "istio.io/dataplane-mode"


def injections(topology: Topology, labels: Mapping[str, Mapping[str, str]]
               ) -> dict[str, Injection]:
    """Service → its injection and why, from Namespace labels (name → labels) and pod labels."""
    return per_service(topology, lambda _name, service, d: _injected(
        labels.get(service.namespace), service.namespace, d))


def namespace_labels(namespaces: Iterable[Manifest],
                     diagnostics: Diagnostics) -> dict[str, dict[str, str]]:
    """Namespace name → its labels, for the Namespace manifests the scenario carries."""
    return {m.name: _labels(m, diagnostics) for m in namespaces}


def sidecars(topology: Topology, namespaces: Iterable[Manifest],
             diagnostics: Diagnostics) -> dict[str, bool]:
    """Service → whether its pods run an Istio sidecar; warns where a Namespace turns it off."""
    manifests = list(namespaces)
    labels = namespace_labels(manifests, diagnostics)
    decided = injections(topology, labels)
    for name, injection in decided.items():
        if injection.reason.startswith("only some versions"):
            diagnostics.warn(
                _where(manifests, topology.services[name].namespace, name),
                f"only some versions of {name} carry a sidecar; meshsim decides per service "
                "and treats it as having none",
                code="approximated",
            )
    for manifest in manifests:
        off = [name for name, injection in decided.items() if injection.by_namespace
               and not injection.injected
               and topology.services[name].namespace == manifest.name]
        if off:
            diagnostics.warn(
                Node.root(manifest),
                f"{manifest.key} {_why_not(labels[manifest.name])}, so {', '.join(off)} run "
                "without a sidecar: the VirtualService and DestinationRule settings of the "
                "calls they make and the AuthorizationPolicies and PeerAuthentications of "
                "their pods do not apply (without this manifest meshsim injects them)",
                code="unmeshed",
            )
    return {name: injection.injected for name, injection in decided.items()}


def _why_not(labels: Mapping[str, str]) -> str:
    if NAMESPACE_LABEL in labels:
        return f"is labelled {NAMESPACE_LABEL}: {labels[NAMESPACE_LABEL]}"
    if labels.get(AMBIENT_LABEL) == "ambient":
        return f"is labelled {AMBIENT_LABEL}: ambient"
    return f"has neither an {NAMESPACE_LABEL} nor an {REVISION_LABEL} label"


def _injected(namespace: Mapping[str, str] | None, ns_name: str,
              deployment: Deployment) -> Injection:
    pod = deployment.labels.get(INJECT_LABEL)
    if pod == "false":
        return Injection(False, f'pod label {INJECT_LABEL}: "false"')
    if namespace is None:
        return Injection(True, f"no Namespace manifest for {ns_name}: taken as "
                         f"{NAMESPACE_LABEL}: enabled")
    if NAMESPACE_LABEL in namespace:
        value = namespace[NAMESPACE_LABEL]
        return Injection(value == "enabled", f"Namespace/{ns_name} {NAMESPACE_LABEL}: {value}",
                         by_namespace=True)
    if REVISION_LABEL in namespace:
        return Injection(True, f"Namespace/{ns_name} {REVISION_LABEL}: "
                         f"{namespace[REVISION_LABEL]}", by_namespace=True)
    if pod == "true":
        return Injection(True, f'pod label {INJECT_LABEL}: "true" (Namespace/{ns_name} has no '
                         "injection label)")
    return Injection(False, f"Namespace/{ns_name} has no {NAMESPACE_LABEL} or {REVISION_LABEL} "
                     "label", by_namespace=True)


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
