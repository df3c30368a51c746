"""ServiceProfiles and SMI TrafficSplits → the profile path of a service (linkerd.md §1, §3, §6.1).

A ServiceProfile is named after the FQDN of its service. Its routes match in list order (first
match wins) with a catch-all default route appended; ``responseClasses`` classify responses;
``isRetryable`` routes retry from one :class:`TpsBudgetSpec` per profile (10 s / 10 / 0.2 unless
``retryBudget`` says otherwise; a budget the proxy rejects means no retries). The linkerd-smi
adaptor turns a TrafficSplit into the ``dstOverrides`` of its apex service's profile (creating
the profile if needed), weights in decimillis (``MilliValue() × 10``). A profile with routes or
dstOverrides puts its service on the profile path: HTTPRoutes, retry/timeout annotations and
failure accrual then stop applying.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshsim.config.manifest.hosts import DOMAIN, HostIndex
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifest.regex import check_regex
from meshsim.config.manifests import Manifest
from meshsim.errors import UnitError
from meshsim.model.linkerd import ResponseClass, StatusCondition, TpsBudgetSpec
from meshsim.model.routes import Backend, Route, RouteMatch, StringMatch
from meshsim.model.topology import Topology

from .values import quantity_millis

SKIP = "smi.linkerd.io/skip"
I32_MAX = 2**31 - 1


@dataclass
class Profile:
    """What the destination controller sends for one service."""

    service: str
    manifest: Manifest | None = None  # None: created by a TrafficSplit
    routes: list[Route] = field(default_factory=list)
    budget: TpsBudgetSpec | None = field(default_factory=TpsBudgetSpec)
    overrides: list[Backend] | None = None  # None: no dstOverrides
    override_source: Node | None = None

    @property
    def has_routes_or_targets(self) -> bool:
        """linkerd2-proxy drops zero-weight dstOverrides before it asks this
        (``service-profiles/src/proto.rs`` ``convert_dst_override``)."""
        return bool(self.routes) or any(b.weight > 0 for b in self.overrides or ())

    def policy_routes(self) -> tuple[Route, ...]:
        """Profile routes with their backends, then the catch-all default route."""
        backends = tuple(b for b in self.overrides or () if b.weight > 0) or (
            Backend(self.service),
        )
        default = Route("default", backends=backends, retry_budget=self.budget)
        out = [
            Route(r.name, r.matches, backends, timeout=r.timeout,
                  response_classes=r.response_classes, is_retryable=r.is_retryable,
                  retry_budget=self.budget)
            for r in self.routes
        ]
        return (*out, default)


def service_of_profile(manifest: Manifest, index: HostIndex) -> str:
    """The service a ServiceProfile's name (its FQDN) names."""
    name_node = Node.root(manifest)["metadata"]["name"]
    name = manifest.name
    if not name.endswith(f".{DOMAIN}") or name.count(".") != 4:
        found = index.resolve(name, manifest.namespace)
        hint = f"; did you mean '{found.fqdn}'?" if found else index.suggestion(name)
        raise name_node.error(
            f"a ServiceProfile is named after the FQDN of its service "
            f"(<service>.<namespace>.{DOMAIN}), got {name!r}{hint}"
        )
    found = index.resolve(name, manifest.namespace)
    if found is None:
        raise name_node.error(f"ServiceProfile {name!r} names no service of the scenario"
                              f"{index.suggestion(name)}")
    return found.service


def profiles_by_service(manifests: list[Manifest], index: HostIndex,
                        diagnostics: Diagnostics) -> dict[str, Profile]:
    """Service → its ServiceProfile (the one in the service's own namespace first)."""
    found: dict[str, list[Manifest]] = {}
    for manifest in manifests:
        found.setdefault(service_of_profile(manifest, index), []).append(manifest)
    out: dict[str, Profile] = {}
    for service, candidates in found.items():
        own = [m for m in candidates if m.namespace == index.namespaces[service]]
        chosen = own[0] if own else candidates[0]
        for other in candidates:
            if other is not chosen:
                diagnostics.warn(Node.root(other)["metadata"]["namespace"],
                                 f"a client-namespace ServiceProfile applies only to clients in "
                                 f"namespace {other.namespace}; meshsim applies "
                                 f"{chosen.key} (namespace {chosen.namespace}) to every client",
                                 code="approximated")
        if chosen.namespace != index.namespaces[service]:
            diagnostics.warn(Node.root(chosen)["metadata"]["namespace"],
                             f"a ServiceProfile in namespace {chosen.namespace} applies only to "
                             f"clients in that namespace; meshsim applies it to every client of "
                             f"{service}", code="approximated")
        out[service] = parse_profile(chosen, service, index, diagnostics)
    return out


def on_profile_path(profiles: dict[str, Profile], diagnostics: Diagnostics) -> set[str]:
    """The services whose profile has routes or dstOverrides; the others stay on the policy
    path, where a ServiceProfile's retry budget is not used (say so)."""
    path = {s for s, p in profiles.items() if p.has_routes_or_targets}
    for service, profile in profiles.items():
        if service not in path and profile.manifest is not None:
            spec = Node.root(profile.manifest)["spec"]
            if spec.has("retryBudget"):
                diagnostics.warn(spec["retryBudget"], "a ServiceProfile without routes or "
                                 "dstOverrides leaves the service on the policy path, where the "
                                 "retry budget is not used", code="no-effect")
    return path


def parse_profile(manifest: Manifest, service: str, index: HostIndex,
                  diagnostics: Diagnostics) -> Profile:
    spec = Node.root(manifest)["spec"]
    profile = Profile(service, manifest, budget=_budget(spec["retryBudget"], diagnostics))
    for route in spec["routes"].items():
        profile.routes.append(_route(route, diagnostics))
    if spec.has("dstOverrides"):
        profile.overrides = [
            _override(item, manifest.namespace, index) for item in spec["dstOverrides"].items()
        ]
        profile.override_source = spec["dstOverrides"]
        warn_all_zero(profile, diagnostics)
    return profile


def _route(node: Node, diagnostics: Diagnostics) -> Route:
    if not node["name"].present:
        raise node.error("a ServiceProfile route needs a name")
    if not node["condition"].present:
        raise node.error("a ServiceProfile route needs a condition")
    timeout = node["timeout"].duration() if node.has("timeout") else 0.0
    classes = []
    for item in node["responseClasses"].items():
        condition = _response_condition(item["condition"], diagnostics)
        if condition is not None:
            classes.append(ResponseClass(condition, item["isFailure"].boolean()))
    return Route(
        name=node["name"].string(),
        matches=(request_condition(node["condition"]),),
        timeout=timeout,
        response_classes=tuple(classes),
        is_retryable=node["isRetryable"].boolean(),
    )


def request_condition(node: Node) -> RouteMatch:
    """A ServiceProfile ``RequestMatch``: its fields AND-ed; ``pathRegex`` anchored."""
    fields = [k for k in ("method", "pathRegex", "all", "any", "not") if node.has(k)]
    if not fields:
        raise node.error("a condition needs at least one of method, pathRegex, all, any or not")
    uri = None
    if node.has("pathRegex"):
        check_regex(node["pathRegex"])
        uri = StringMatch("regex", node["pathRegex"].string())  # regex matches the whole path
    method = StringMatch("exact", node["method"].string().upper()) if node.has("method") else None
    return RouteMatch(
        uri=uri,
        method=method,
        all_of=tuple(request_condition(n) for n in node["all"].items()),
        any_of=tuple(request_condition(n) for n in node["any"].items()),
        none_of=(request_condition(node["not"]),) if node.has("not") else (),
    )


def _response_condition(node: Node, diagnostics: Diagnostics) -> StatusCondition | None:
    """A ResponseMatch; None when the proxy would drop the class (a status bound missing)."""
    if not node.present:
        raise node.error("a response class needs a condition")
    fields = [k for k in ("status", "all", "any", "not") if node.has(k)]
    if not fields:
        raise node.error("a response condition needs at least one of status, all, any or not")
    low = high = None
    if node.has("status"):
        status = node["status"]
        low = status["min"].integer(minimum=100, maximum=599) if status.has("min") else None
        high = status["max"].integer(minimum=100, maximum=599) if status.has("max") else None
        if low is None or high is None:
            diagnostics.warn(status, "a status range needs both min and max: the controller "
                             "sends the missing bound as 0 and the proxy drops this response "
                             "class", code="dropped")
            return None
        if low > high:
            raise status.error(f"status min {low} is above max {high}")
    parts = []
    for key in ("all", "any"):
        converted = []
        for child in node[key].items():
            condition = _response_condition(child, diagnostics)
            if condition is None:
                return None
            converted.append(condition)
        parts.append(tuple(converted))
    negate = _response_condition(node["not"], diagnostics) if node.has("not") else None
    if node.has("not") and negate is None:
        return None
    return StatusCondition(low, high, parts[0], parts[1], negate)


def _budget(node: Node, diagnostics: Diagnostics) -> TpsBudgetSpec | None:
    """``retryBudget`` (defaults when absent); None when linkerd2-proxy would reject it."""
    if not node.present:
        return TpsBudgetSpec()
    missing = [k for k in ("retryRatio", "minRetriesPerSecond", "ttl") if not node.has(k)]
    if missing:
        raise node.error(f"retryBudget needs {', '.join(missing)}")
    ratio = node["retryRatio"].number()
    minimum = node["minRetriesPerSecond"].integer(minimum=0)
    ttl = node["ttl"].duration()
    problem = None
    if not 0.0 <= ratio <= 1000.0:
        problem = (node["retryRatio"], f"retryRatio {ratio:g} is outside [0, 1000]")
    elif not 1.0 <= ttl <= 60.0:
        problem = (node["ttl"], f"ttl {ttl:g}s is outside [1s, 60s]")
    elif minimum > I32_MAX:
        problem = (node["minRetriesPerSecond"], "minRetriesPerSecond is too large")
    if problem is not None:
        diagnostics.warn(problem[0], f"{problem[1]}: linkerd2-proxy rejects the budget, so no "
                         "route of this profile retries", code="dropped")
        return None
    return TpsBudgetSpec(ttl=ttl, min_retries_per_second=minimum, retry_ratio=ratio)


def _override(node: Node, namespace: str, index: HostIndex) -> Backend:
    authority = node["authority"]
    if not authority.present:
        raise node.error("a dstOverride needs an authority")
    host, _, port_text = authority.string().partition(":")
    found = index.resolve(host, namespace)
    if found is None:
        raise authority.error(f"authority {authority.string()!r} names no service of the "
                              f"scenario{index.suggestion(host)}")
    port = None
    if port_text:
        if not port_text.isdigit():
            raise authority.error(f"port {port_text!r} in the authority is not a number")
        port = int(port_text)
    return Backend(found.service, weight=decimillis(node["weight"]), port=port)


def decimillis(node: Node) -> int:
    """A Kubernetes-quantity weight as the controller sends it: MilliValue() × 10."""
    if not node.present:
        raise node.error(f"{node.path[-2] if len(node.path) > 1 else 'weight'} needs a weight")
    try:
        return quantity_millis(node.value) * 10
    except UnitError as exc:
        raise node.error(f"invalid weight: {exc}") from None


def apply_splits(splits: list[Manifest], profiles: dict[str, Profile], index: HostIndex,
                 topology: Topology, diagnostics: Diagnostics) -> None:
    """TrafficSplit → the apex profile's ``dstOverrides``, as the linkerd-smi adaptor does."""
    seen: dict[str, Manifest] = {}
    for manifest in splits:
        spec = Node.root(manifest)["spec"]
        apex_node = spec["service"]
        if not apex_node.present:
            raise spec.error("a TrafficSplit needs spec.service (the apex service)")
        apex = index.resolve(apex_node.string(), manifest.namespace)
        if apex is None:
            raise apex_node.error(f"apex service {apex_node.string()!r} "
                                  f"({index.qualify(apex_node.string(), manifest.namespace)}) "
                                  f"is no service of the scenario"
                                  f"{index.suggestion(apex_node.string())}")
        if apex.service in seen:
            raise Node.root(manifest)["metadata"]["name"].error(
                f"a second TrafficSplit for {apex.service} (the first is "
                f"{seen[apex.service].key} at {seen[apex.service].location().prefix()}); "
                "linkerd-smi would let them overwrite each other's dstOverrides")
        seen[apex.service] = manifest
        backends_node = spec["backends"]
        if not backends_node.items():
            raise spec.error("a TrafficSplit needs at least one backend")
        integer_weights = manifest.apiVersion.rpartition("/")[2] != "v1alpha1"
        backends = []
        for item in backends_node.items():
            name = item["service"]
            if not name.present:
                raise item.error("a TrafficSplit backend needs a service")
            found = index.resolve(name.string(), manifest.namespace)
            if found is None:
                raise name.error(
                    f"backend service {name.string()!r} "
                    f"({index.qualify(name.string(), manifest.namespace)}) is no service of the "
                    f"scenario{_version_hint(name.string(), topology)}")
            weight = item["weight"]
            if integer_weights and weight.present:
                weight.integer(minimum=0)  # v1alpha2+ weights are integers
            backends.append(Backend(found.service, weight=decimillis(weight)))
        profile = profiles.get(apex.service)
        if profile is not None and profile.manifest is not None:
            annotations = Node.root(profile.manifest)["metadata"]["annotations"]
            if annotations.has(SKIP):
                diagnostics.warn(spec, f"{manifest.key} is not applied: the ServiceProfile of "
                                 f"{apex.service} is annotated {SKIP}", code="no-effect")
                continue
            if profile.overrides is not None and profile.override_source is not None:
                diagnostics.warn(profile.override_source, f"dstOverrides are replaced by "
                                 f"{manifest.key}: linkerd-smi overwrites them", code="overridden")
        if profile is None:
            profile = profiles[apex.service] = Profile(apex.service)
        profile.overrides = backends
        profile.override_source = backends_node
        warn_all_zero(profile, diagnostics)


def warn_all_zero(profile: Profile, diagnostics: Diagnostics) -> None:
    """Every override at weight 0: the proxy drops them all and sends the apex's traffic to
    the apex itself (C13), and without profile routes the apex stays on the policy path."""
    if not profile.overrides or any(b.weight > 0 for b in profile.overrides):
        return
    assert profile.override_source is not None
    path = ("the profile path (its routes)" if profile.routes else
            "the policy path (its HTTPRoutes and annotations apply)")
    diagnostics.warn(profile.override_source, f"every backend has weight 0: linkerd2-proxy "
                     f"drops zero-weight targets, so all traffic to {profile.service} goes to "
                     f"{profile.service} itself, on {path}", code="no-effect")


def _version_hint(name: str, topology: Topology) -> str:
    for service in topology.services.values():
        for version in service.versions:
            if name in (f"{service.name}-{version}", version):
                return (f"; {service.name} has a version {version!r}, but Linkerd splits "
                        f"between Services: define {name} as its own service")
    return ""
