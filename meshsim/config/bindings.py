"""Which services run a sidecar, and which manifests bind to each: what ``meshsim validate``
lists, so a user sees what a manifest changed before running anything.

The sidecar and its reason come from the mesh's own injection rules (:mod:`.istio.injection`,
:mod:`.linkerd.injection`). A manifest binds to a service when the mesh would apply it there:
by host (VirtualService, DestinationRule, ServiceEntry, ServiceProfile, TrafficSplit, a
Service's annotations), by workload selector in its namespace (AuthorizationPolicy,
PeerAuthentication, Server), by reference (HTTPRoute parents and backends, ServerAuthorization
and Linkerd AuthorizationPolicy targets), by namespace (Namespace) or as a rollout target. The
scenario is already loaded, so every reference resolves; a manifest that binds to nothing is
simply absent from every row (the translators have warned about it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshsim.config.manifest.hosts import HostIndex
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.errors import ConfigWarning, ScenarioError
from meshsim.model import Model, Parallel
from meshsim.model.rollout import ArgoRollout
from meshsim.model.topology import Topology

from .istio import injection as istio_injection
from .istio.serviceentry import parse_entries
from .linkerd import injection as linkerd_injection
from .linkerd.authz import selector_matches

ISTIO_ROOT_NAMESPACE = "istio-system"  # a policy there applies mesh-wide
# Applied by the callers' proxies (outbound) or by the selected pods' own (inbound). Istio's
# AuthorizationPolicy is not here: its translator already says when no sidecar enforces one.
OUTBOUND_KINDS = frozenset({"VirtualService", "DestinationRule", "ServiceProfile",
                            "TrafficSplit", "Service"})
INBOUND_KINDS = frozenset({"Server", "ServerAuthorization", "PeerAuthentication"})
SELECTOR_KINDS = ("AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication", "Sidecar")


@dataclass(frozen=True)
class ServiceBinding:
    """One service: namespace, whether it runs a sidecar and why, and the manifests (``Kind/
    name``, in scenario order) the mesh applies to it."""

    service: str
    namespace: str
    sidecar: bool
    why: str
    manifests: tuple[str, ...]


def service_bindings(model: Model, manifests: Sequence[Manifest]) -> list[ServiceBinding]:
    """One :class:`ServiceBinding` per service of ``model``, in scenario order."""
    topology = model.topology
    reasons = _injection_reasons(model, manifests)
    bound: dict[str, list[str]] = {name: [] for name in topology.services}
    binder = _Binder(topology, manifests, model.mesh.name)
    for manifest in manifests:
        for service in binder.services(manifest):
            if manifest.key not in bound[service]:
                bound[service].append(manifest.key)
    for rollout in model.rollouts:
        kind = "Rollout" if isinstance(rollout, ArgoRollout) else "Canary"
        key = f"{kind}/{rollout.name}"
        target = rollout.target
        for service in (target.host, target.primary.service, target.canary.service):
            if service in bound and key not in bound[service]:
                bound[service].append(key)
    sidecars = model.policy.sidecars if model.policy is not None else {}
    return [
        ServiceBinding(
            service=name, namespace=service.namespace,
            sidecar=bool(sidecars.get(name, reasons[name][0])), why=reasons[name][1],
            manifests=tuple(bound[name]),
        )
        for name, service in topology.services.items()
    ]


def unapplied(model: Model, manifests: Sequence[Manifest]) -> list[ConfigWarning]:
    """One ``unmeshed`` warning per manifest that injection leaves without effect: an inbound
    policy that selects only pods without a proxy, or outbound rules for services that only
    callers without a proxy call (workload clients always have one)."""
    if model.mesh.name not in ("istio", "linkerd") or model.policy is None:
        return []
    sidecars = model.policy.sidecars
    callers = _callers(model)
    binder = _Binder(model.topology, manifests, model.mesh.name)
    out = []
    for manifest in manifests:
        services = binder.services(manifest)
        where = Node.root(manifest).location
        if not services:
            continue
        if _inbound(manifest) and not any(sidecars.get(s, False) for s in services):
            out.append(ConfigWarning(
                f"{manifest.key} applies to {', '.join(services)}, whose pods run no proxy "
                "(see meshsim validate): nothing enforces it", where, "unmeshed"))
        elif _outbound(manifest):
            calling = sorted({c for s in services for c in callers.get(s, set())})
            meshed = [c for c in calling if c is WORKLOAD or sidecars.get(c, False)]
            if calling and not meshed:
                out.append(ConfigWarning(
                    f"{manifest.key} is applied by the proxies of the callers of "
                    f"{', '.join(services)}, and none of them ({', '.join(calling)}) runs "
                    "one (see meshsim validate): its rules never apply", where, "unmeshed"))
    return out


WORKLOAD = "a workload"  # a caller that always has a proxy


def _callers(model: Model) -> dict[str, set[str]]:
    """Service → the services (or :data:`WORKLOAD`) that call it."""
    out: dict[str, set[str]] = {}
    for workload in model.workloads:
        out.setdefault(workload.target, set()).add(WORKLOAD)
    for name, service in model.topology.services.items():
        steps = [step for d in service.deployments for step in d.calls]
        while steps:
            step = steps.pop()
            if isinstance(step, Parallel):
                steps.extend(step.calls)
            else:
                out.setdefault(step.service, set()).add(name)
    return out


def _inbound(manifest: Manifest) -> bool:
    if manifest.kind == "AuthorizationPolicy":
        return manifest.family == "linkerd"
    if manifest.kind == "HTTPRoute":
        parents = _list(_get(manifest.data, "spec", "parentRefs"))
        return any(_get(ref, "kind") == "Server" for ref in parents)
    return manifest.kind in INBOUND_KINDS


def _outbound(manifest: Manifest) -> bool:
    if manifest.kind == "HTTPRoute":
        return not _inbound(manifest)
    return manifest.kind in OUTBOUND_KINDS


def _injection_reasons(model: Model, manifests: Sequence[Manifest]
                       ) -> dict[str, tuple[bool, str]]:
    namespaces = [m for m in manifests if m.kind == "Namespace"]
    topology = model.topology
    if model.mesh.name == "linkerd":
        annotations = linkerd_injection.namespace_annotations(namespaces, Diagnostics())
        decided = linkerd_injection.injections(topology, annotations)
        return {name: (d.injected, d.reason) for name, d in decided.items()}
    if model.mesh.name == "istio":
        labels = istio_injection.namespace_labels(namespaces, Diagnostics())
        found = istio_injection.injections(topology, labels)
        return {name: (d.injected, d.reason) for name, d in found.items()}
    return {name: (False, "spec.mesh is none: no proxies") for name in topology.services}


class _Binder:
    """Manifest → the services it binds to, per kind."""

    def __init__(self, topology: Topology, manifests: Sequence[Manifest], mesh: str) -> None:
        self.topology = topology
        self.mesh = mesh
        entries = [m for m in manifests if m.kind == "ServiceEntry" and m.family == "istio"]
        parsed = _quiet(lambda: parse_entries(entries, topology, Diagnostics()), [])
        self.entries = {m.key: e.service for m, e in zip(entries, parsed, strict=False)}
        self.index = HostIndex(topology, {h: e.service for e in parsed for h in e.hosts})
        self.servers = {f"{m.namespace}/{m.name}": m for m in manifests if m.kind == "Server"}
        self.routes = {f"{m.namespace}/{m.name}": m for m in manifests if m.kind == "HTTPRoute"}
        self.by_kind: dict[str, Callable[[Manifest], Iterable[str]]] = {
            "Namespace": self._namespace,
            "VirtualService": self._virtual_service,
            "DestinationRule": lambda m: self._hosts([_get(m.data, "spec", "host")], m),
            "ServiceEntry": lambda m: [self.entries[m.key]] if m.key in self.entries else [],
            "ServiceProfile": lambda m: self._hosts([m.name], m),
            "TrafficSplit": self._traffic_split,
            "Service": lambda m: self._hosts([m.name], m),
            "HTTPRoute": self._http_route,
            "Server": self._server,
            "ServerAuthorization": self._server_authorization,
        }

    def services(self, manifest: Manifest) -> list[str]:
        if manifest.kind == "AuthorizationPolicy" and manifest.family == "linkerd":
            return _quiet(lambda: list(self._linkerd_policy(manifest)), [])
        if manifest.kind in SELECTOR_KINDS and manifest.family == "istio":
            return _quiet(lambda: list(self._selected(manifest)), [])
        bind = self.by_kind.get(manifest.kind)
        return [] if bind is None else _quiet(lambda: list(dict.fromkeys(bind(manifest))), [])

    # -- by host -------------------------------------------------------------------------------
    def _hosts(self, hosts: Iterable[Any], manifest: Manifest) -> list[str]:
        out: list[str] = []
        for host in hosts:
            if isinstance(host, str):
                out += [r.service for r in self.index.matching(host, manifest.namespace)]
        return out

    def _virtual_service(self, manifest: Manifest) -> list[str]:
        spec = _map(_get(manifest.data, "spec"))
        hosts = list(_list(spec.get("hosts")))
        for kind in ("http", "tcp", "tls"):
            for route in _list(spec.get(kind)):
                for dest in _list(_get(route, "route")):
                    hosts.append(_get(dest, "destination", "host"))
                hosts.append(_get(route, "mirror", "host"))
        return self._hosts(hosts, manifest)

    def _traffic_split(self, manifest: Manifest) -> list[str]:
        spec = _map(_get(manifest.data, "spec"))
        hosts = [spec.get("service"), *(_get(b, "service") for b in _list(spec.get("backends")))]
        return self._hosts(hosts, manifest)

    # -- by selector or namespace -----------------------------------------------------------
    def _namespace(self, manifest: Manifest) -> list[str]:
        return [n for n, s in self.topology.services.items() if s.namespace == manifest.name]

    def _selected(self, manifest: Manifest) -> Iterable[str]:
        labels = _get(manifest.data, "spec", "selector", "matchLabels")
        wide = manifest.namespace == ISTIO_ROOT_NAMESPACE
        for name, service in self.topology.services.items():
            if service.external or not (wide or service.namespace == manifest.namespace):
                continue
            if not isinstance(labels, dict) or any(
                    all(d.labels.get(k) == str(v) for k, v in labels.items())
                    for d in service.deployments):
                yield name

    def _server(self, manifest: Manifest) -> Iterable[str]:
        selector = Node.root(manifest)["spec"]["podSelector"]
        for name, service in self.topology.services.items():
            if service.namespace == manifest.namespace and any(
                    selector_matches(selector, d.labels) for d in service.deployments):
                yield name

    # -- by reference ---------------------------------------------------------------------------
    def _server_named(self, name: Any, namespace: str) -> Iterable[str]:
        server = self.servers.get(f"{namespace}/{name}")
        return self._server(server) if server is not None else []

    def _server_authorization(self, manifest: Manifest) -> Iterable[str]:
        server = _map(_get(manifest.data, "spec", "server"))
        if "name" in server:
            yield from self._server_named(server["name"], manifest.namespace)
            return
        labels = _map(_get(server, "selector", "matchLabels"))
        for key, candidate in self.servers.items():
            own = _map(_get(candidate.data, "metadata", "labels"))
            if key.startswith(f"{manifest.namespace}/") and all(
                    own.get(k) == v for k, v in labels.items()):
                yield from self._server(candidate)

    def _http_route(self, manifest: Manifest) -> Iterable[str]:
        spec = _map(_get(manifest.data, "spec"))
        for ref in _list(spec.get("parentRefs")):
            yield from self._parent(ref, manifest)
        for rule in _list(spec.get("rules")):
            for backend in _list(_get(rule, "backendRefs")):
                yield from self._hosts([_get(backend, "name")], manifest)

    def _parent(self, ref: Any, manifest: Manifest) -> Iterable[str]:
        kind = _get(ref, "kind") or "Gateway"
        namespace = _get(ref, "namespace") or manifest.namespace
        if kind == "Service":
            yield from self._hosts([f"{_get(ref, 'name')}.{namespace}.svc"], manifest)
        elif kind == "Server":
            yield from self._server_named(_get(ref, "name"), namespace)

    def _linkerd_policy(self, manifest: Manifest) -> Iterable[str]:
        target = _map(_get(manifest.data, "spec", "targetRef"))
        kind, name = target.get("kind"), target.get("name")
        namespace = target.get("namespace") or manifest.namespace
        if kind == "Server":
            yield from self._server_named(name, namespace)
        elif kind == "HTTPRoute" and f"{namespace}/{name}" in self.routes:
            route = self.routes[f"{namespace}/{name}"]
            for ref in _list(_get(route.data, "spec", "parentRefs")):
                yield from self._parent(ref, route)
        elif kind == "Namespace":
            yield from (n for n, s in self.topology.services.items() if s.namespace == name)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _quiet(build: Callable[[], Any], default: Any) -> Any:
    """A loaded scenario's references resolve; should one not, the row just omits it."""
    try:
        return build()
    except ScenarioError:
        return default
