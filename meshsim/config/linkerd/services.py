"""``v1 Service`` manifests: the retry, timeout and failure-accrual annotations of a service.

On the policy path a Service's annotations are the defaults its HTTPRoutes inherit, group by
group, and its failure accrual; a Service with no HTTPRoute but retry or timeout annotations
gets one ``default`` route (linkerd.md §0). On the profile path they are ignored, with an
``overridden`` warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshsim.config.manifest.hosts import HostIndex
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.model.linkerd import FailureAccrual, PolicyRetrySpec
from meshsim.model.routes import Backend, Route

from .annotations import (
    ACCRUAL_KEYS,
    RETRY_KEYS,
    TIMEOUT_KEYS,
    Dropped,
    Timeouts,
    annotations_of,
    drop,
    parse_accrual,
    parse_retry,
    parse_timeouts,
    warn_other,
)
from .httproute import ServiceDefaults, inherited_retry


@dataclass
class ServiceInfo:
    """A ``v1 Service`` manifest's Linkerd annotations."""

    meta: Node
    defaults: ServiceDefaults
    accrual: FailureAccrual | None


def parse_services(manifests: list[Manifest], index: HostIndex,
                   diagnostics: Diagnostics) -> dict[str, ServiceInfo]:
    """Service manifests → their retry/timeout groups and failure accrual, by service."""
    out: dict[str, ServiceInfo] = {}
    for manifest in manifests:
        root = Node.root(manifest)
        found = index.resolve(manifest.name, manifest.namespace)
        if found is None or found.fqdn != index.qualify(manifest.name, manifest.namespace):
            raise root["metadata"]["name"].error(
                f"Service {manifest.name!r} in namespace {manifest.namespace} is no service of "
                f"the scenario{index.suggestion(manifest.name)} (spec.services defines them)")
        if root.has("spec"):
            diagnostics.warn(root["spec"], "Service spec (ports, selector, type) is not "
                             "modelled: spec.services defines the pods and meshsim services "
                             "have one port", code="unmodelled")
        meta = annotations_of(root)
        retry: PolicyRetrySpec | None = None
        timeouts = Timeouts()
        accrual = None
        try:
            retry = parse_retry(meta, diagnostics, route=False)
        except Dropped as exc:
            drop(diagnostics, exc, f"the retry annotations of {manifest.key}")
        try:
            timeouts = parse_timeouts(meta, diagnostics)
        except Dropped as exc:
            drop(diagnostics, exc, f"the timeout annotations of {manifest.key}")
        try:
            accrual = parse_accrual(meta, diagnostics)
        except Dropped as exc:
            drop(diagnostics, exc, f"the failure accrual of {manifest.key}")
        warn_other(meta, diagnostics, (*RETRY_KEYS, *TIMEOUT_KEYS, *ACCRUAL_KEYS))
        out[found.service] = ServiceInfo(meta, ServiceDefaults(retry, timeouts), accrual)
    return out


def default_route(service: str, defaults: ServiceDefaults) -> Route:
    """The parent's default route: all traffic to the Service, its annotation groups. It is
    an HTTP route: ``retry.linkerd.io/grpc`` applies to the Service's GRPCRoutes only."""
    return Route("default", backends=(Backend(service),), timeout=defaults.timeouts.request,
                 response_timeout=defaults.timeouts.response,
                 policy_retry=inherited_retry(defaults.retry, grpc=False))


def warn_overridden(meta: Node, service: str, diagnostics: Diagnostics) -> None:
    """A profile-path service's retry, timeout and accrual annotations do nothing: say so."""
    for key, node in meta.entries():
        if key in (*RETRY_KEYS, *TIMEOUT_KEYS, *ACCRUAL_KEYS):
            diagnostics.warn(node, f"{key} is ignored: {service} has a ServiceProfile with "
                             "routes or dstOverrides, so the profile path wins (linkerd.md §0)",
                             code="overridden")
