"""Which services get a linkerd2-proxy, and their default inbound policy.

Linkerd's proxy injector injects a pod when its own ``linkerd.io/inject`` annotation, or else its
namespace's, is ``enabled`` (or ``ingress``); ``disabled`` on the pod opts it out. meshsim reads
the namespace annotation from ``Namespace`` manifests and the pod annotation from a scenario
service's (or version's) ``labels`` entry ``linkerd.io/inject``, since the scenario has no pod
annotations. ``config.linkerd.io/default-inbound-policy`` is read the same two ways.

A namespace whose ``Namespace`` manifest the scenario does not carry is taken to be annotated
``linkerd.io/inject: enabled``: its non-external services get a proxy unless their labels say
``linkerd.io/inject: disabled``. So a pasted Namespace for another namespace changes nothing
here; one that leaves services of its own namespace without a proxy says so in a warning
naming them. External services never have one. :func:`injections` tells why, per service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import cast

from meshsim.config.injection import Injection, per_service
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.errors import Location, ScenarioError
from meshsim.model.authz import DefaultInboundPolicy
from meshsim.model.topology import Deployment, Topology

INJECT = "linkerd.io/inject"
DEFAULT_POLICY = "config.linkerd.io/default-inbound-policy"
POLICIES = ("all-unauthenticated", "all-authenticated", "cluster-authenticated",
            "cluster-unauthenticated", "deny", "audit")
INJECT_VALUES = ("enabled", "ingress", "disabled")


def namespace_annotations(manifests: Iterable[Manifest],
                          diagnostics: Diagnostics) -> dict[str, dict[str, str]]:
    """Namespace name → its annotations (checked: inject values, default policy values)."""
    out: dict[str, dict[str, str]] = {}
    for manifest in manifests:
        root = Node.root(manifest)
        meta = root["metadata"]
        for key in ("spec", "status"):
            if root.has(key):
                diagnostics.warn(root[key], f"Namespace {key} is not modelled", code="unmodelled")
        labels = meta["labels"]
        if labels.has(INJECT):
            diagnostics.warn(labels[INJECT], f"{INJECT} is a label here; Linkerd reads the "
                             "annotation (metadata.annotations), so this injects nothing",
                             code="no-effect")
        node = meta["annotations"]
        annotations = node.string_map()
        if INJECT in annotations:
            node[INJECT].choice(INJECT_VALUES)
        if DEFAULT_POLICY in annotations:
            node[DEFAULT_POLICY].choice(POLICIES)
        for key, value in node.entries():
            if "linkerd.io/" in key and key not in (INJECT, DEFAULT_POLICY):
                diagnostics.warn(value, f"{key} is not modelled by meshsim")
        out[manifest.name] = annotations
    return out


def injections(topology: Topology, namespaces: Mapping[str, Mapping[str, str]]
               ) -> dict[str, Injection]:
    """Service → its injection and why (pod annotation, Namespace manifest, or the default)."""
    return per_service(topology, lambda name, service, d: _injected(
        namespaces.get(service.namespace), service.namespace, d, name))


def sidecars(topology: Topology, namespaces: Mapping[str, Mapping[str, str]],
             manifests: Sequence[Manifest], diagnostics: Diagnostics) -> dict[str, bool]:
    """Service → whether its pods run a linkerd2-proxy; warns where a Namespace turns it off."""
    decided = injections(topology, namespaces)
    for name, injection in decided.items():
        if injection.reason.startswith("only some versions"):
            diagnostics.warn(
                Location(path=f"spec.services.{name}"),
                f"only some versions of {name} carry a linkerd proxy; meshsim decides per "
                "service and treats it as having none",
                code="approximated",
            )
    for manifest in manifests:
        off = [name for name, injection in decided.items() if injection.by_namespace
               and not injection.injected
               and topology.services[name].namespace == manifest.name]
        if off:
            annotation = namespaces.get(manifest.name, {}).get(INJECT)
            why = (f"is annotated {INJECT}: {annotation}" if annotation is not None
                   else f"has no {INJECT} annotation")
            diagnostics.warn(
                Node.root(manifest),
                f"{manifest.key} {why}, so {', '.join(off)} run without a linkerd proxy: the "
                "routes, retries, timeouts and TrafficSplits of the calls they make and the "
                "inbound policy of their pods do not apply (without this manifest meshsim "
                "injects them)",
                code="unmeshed",
            )
    return {name: injection.injected for name, injection in decided.items()}


def _injected(namespace: Mapping[str, str] | None, ns_name: str, deployment: Deployment,
              service: str) -> Injection:
    pod = deployment.labels.get(INJECT)
    if pod is not None and pod not in INJECT_VALUES:
        raise ScenarioError(
            f"unknown {INJECT} value {pod!r} (expected one of {', '.join(INJECT_VALUES)})",
            Location(path=f"spec.services.{service}.labels"),
        )
    if pod is not None:
        return Injection(pod != "disabled", f"pod label {INJECT}: {pod}")
    if namespace is None:
        return Injection(True, f"no Namespace manifest for {ns_name}: taken as {INJECT}: "
                         "enabled")
    value = namespace.get(INJECT)
    if value is None:
        return Injection(False, f"Namespace/{ns_name} has no {INJECT} annotation",
                         by_namespace=True)
    return Injection(value in ("enabled", "ingress"), f"Namespace/{ns_name} {INJECT}: {value}",
                     by_namespace=True)


def default_policies(topology: Topology, namespaces: Mapping[str, Mapping[str, str]]
                     ) -> dict[str, DefaultInboundPolicy]:
    """Service → its default inbound policy, where a namespace or pod annotation sets one."""
    out: dict[str, DefaultInboundPolicy] = {}
    for name, service in topology.services.items():
        value = namespaces.get(service.namespace, {}).get(DEFAULT_POLICY)
        pods = {d.labels.get(DEFAULT_POLICY) for d in service.deployments} - {None}
        if len(pods) == 1:
            value = next(iter(pods))
        if value is not None:
            if value not in POLICIES:
                        raise ScenarioError(
                    f"unknown {DEFAULT_POLICY} value {value!r} (expected one of "
                    f"{', '.join(POLICIES)})", Location(path=f"spec.services.{name}.labels"))
            out[name] = cast(DefaultInboundPolicy, value)
    return out
