"""Which services get a linkerd2-proxy, and their default inbound policy.

Linkerd's proxy injector injects a pod when its own ``linkerd.io/inject`` annotation, or else its
namespace's, is ``enabled`` (or ``ingress``); ``disabled`` on the pod opts it out. meshsim reads
the namespace annotation from ``Namespace`` manifests and the pod annotation from a scenario
service's (or version's) ``labels`` entry ``linkerd.io/inject``, since the scenario has no pod
annotations. ``config.linkerd.io/default-inbound-policy`` is read the same two ways.

When the scenario carries no Namespace manifest at all, meshsim takes every namespace to be
annotated ``linkerd.io/inject: enabled``: every non-external service gets a proxy unless its
labels say ``linkerd.io/inject: disabled``. External services never have one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from meshsim.config.manifests import Manifest
from meshsim.errors import Location, ScenarioError
from meshsim.model.policy import DefaultInboundPolicy
from meshsim.model.topology import Deployment, Topology

from ..istio.nodes import Diagnostics, Node

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


def sidecars(topology: Topology, namespaces: Mapping[str, Mapping[str, str]], any_manifest: bool,
             diagnostics: Diagnostics) -> dict[str, bool]:
    """Service → whether its pods run a linkerd2-proxy."""
    out: dict[str, bool] = {}
    for name, service in topology.services.items():
        if service.external:
            out[name] = False
            continue
        ns = namespaces.get(service.namespace, {}) if any_manifest else None
        decisions = [_injected(ns, d, name) for d in service.deployments]
        out[name] = all(decisions)
        if len(set(decisions)) > 1:
            diagnostics.warn(
                Location(path=f"spec.services.{name}"),
                f"only some versions of {name} carry a linkerd proxy; meshsim decides per "
                "service and treats it as having none",
                code="approximated",
            )
    return out


def _injected(namespace: Mapping[str, str] | None, deployment: Deployment, service: str) -> bool:
    pod = deployment.labels.get(INJECT)
    if pod is not None and pod not in INJECT_VALUES:
        raise ScenarioError(
            f"unknown {INJECT} value {pod!r} (expected one of {', '.join(INJECT_VALUES)})",
            Location(path=f"spec.services.{service}.labels"),
        )
    if pod == "disabled":
        return False
    if pod in ("enabled", "ingress"):
        return True
    if namespace is None:  # no Namespace manifests: every namespace injects
        return True
    return namespace.get(INJECT) in ("enabled", "ingress")


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
