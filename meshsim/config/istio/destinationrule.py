"""DestinationRules → subsets, per-cluster policies and the hash keys routes use.

Several rules for one host merge as ``pilot/pkg/model/destination_rule.go``
``mergeDestinationRule`` does: subsets are concatenated (a repeated name is dropped) and the
first top-level ``trafficPolicy`` wins. A subset's policy replaces the top-level one per
component (``MergeSubsetTrafficPolicy``), and a port-level policy replaces the whole policy for
that port (``GetPortLevelTrafficPolicy``: nothing is inherited, not even ``retryBudget``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from meshsim.config.manifest.hosts import HostIndex, Resolved, is_wildcard
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.model.clusters import ClusterPolicy, Subset
from meshsim.model.topology import Topology

from .clusters import Components, cluster_policy
from .profile import IstioProfile


@dataclass
class SubsetRule:
    name: str
    node: Node
    labels: dict[str, str]
    policy: Node  # the subset's trafficPolicy (value None when absent)


@dataclass
class ServiceRule:
    """Every DestinationRule of one service, merged."""

    service: str
    first: Node  # spec.host of the first rule, for messages
    policy: Node | None = None
    subsets: dict[str, SubsetRule] = field(default_factory=dict)


def collect_rules(
    manifests: Iterable[Manifest], index: HostIndex, profile: IstioProfile,
    diagnostics: Diagnostics,
) -> dict[str, ServiceRule]:
    """Resolve and merge the rules: exact hosts first, wildcard hosts for what is left."""
    rules: dict[str, ServiceRule] = {}
    specs = [Node.root(m)["spec"] for m in manifests]
    for spec in specs:
        _check_version_fields(spec, profile, diagnostics)
    for spec in [s for s in specs if not is_wildcard(_host(s))]:
        resolved = _resolve(spec["host"], index, diagnostics)
        _merge(rules, resolved.service, spec, diagnostics)
    exact = set(rules)
    for spec in [s for s in specs if is_wildcard(_host(s))]:
        targets = index.matching(_host(spec), spec.manifest.namespace)
        if not targets:
            diagnostics.warn(spec["host"], f"host {_host(spec)!r} matches no service", "unused")
        for target in targets:
            if target.service not in exact:  # a rule for the exact host is more specific
                _merge(rules, target.service, spec, diagnostics)
    return rules


def _host(spec: Node) -> str:
    host = spec["host"]
    if not host.string():
        raise host.error("a DestinationRule needs spec.host")
    return host.string()


def _resolve(host: Node, index: HostIndex, diagnostics: Diagnostics) -> Resolved:
    resolved = index.resolve(host.string(), host.manifest.namespace)
    if resolved is None:
        fqdn = index.qualify(host.string(), host.manifest.namespace)
        raise host.missing(
            f"host {host.string()!r} ({fqdn}) is no service of the scenario and no ServiceEntry "
            f"host{index.suggestion(host.string())}",
            "destinationrule host", host.string(),
        )
    if resolved.kubernetes_form:
        warn_kubernetes_form(host, resolved, diagnostics)
    return resolved


def warn_kubernetes_form(node: Node, resolved: Resolved, diagnostics: Diagnostics) -> None:
    diagnostics.warn(
        node,
        f"{node.string()!r} is read as {resolved.fqdn}, as Kubernetes DNS would; Istio itself "
        f"expands only names without dots, so write {resolved.fqdn!r} to be sure",
        code="host-form",
    )


def _merge(rules: dict[str, ServiceRule], service: str, spec: Node,
           diagnostics: Diagnostics) -> None:
    rule = rules.setdefault(service, ServiceRule(service, spec["host"]))
    policy = spec["trafficPolicy"]
    if policy.present:
        if rule.policy is None:
            rule.policy = policy
        else:
            diagnostics.warn(
                policy,
                f"ignored: {rule.first.manifest.key} already sets the top-level trafficPolicy "
                f"for {service}, and Istio keeps the first",
                code="shadowed",
            )
    seen: set[str] = set()
    for node in spec["subsets"].items():
        name = node["name"].string()
        if not name:
            raise node.error("a subset needs a name")
        if name in seen:
            raise node["name"].error(f"duplicate subset name {name!r}")
        seen.add(name)
        if name in rule.subsets:
            diagnostics.warn(
                node["name"],
                f"ignored: subset {name!r} of {service} is already defined by "
                f"{rule.subsets[name].node.manifest.key}, and Istio keeps the first",
                code="shadowed",
            )
            continue
        rule.subsets[name] = SubsetRule(name, node, node["labels"].string_map(),
                                        node["trafficPolicy"])


def _check_version_fields(spec: Node, profile: IstioProfile, diagnostics: Diagnostics) -> None:
    policies = [spec["trafficPolicy"], *(s["trafficPolicy"] for s in spec["subsets"].items())]
    for policy in policies:
        if policy["retryBudget"].present and not profile.retry_budget:
            diagnostics.warn(
                policy["retryBudget"],
                f"retryBudget exists from Istio 1.27; Istio {profile.version} does not know the "
                "field and ignores it",
                code="version",
            )


def subsets_of(rules: Mapping[str, ServiceRule], topology: Topology,
               diagnostics: Diagnostics) -> dict[tuple[str, str], Subset]:
    """Every subset; one whose labels select no pod of the service is a warning (503 UH)."""
    out: dict[tuple[str, str], Subset] = {}
    for service, rule in rules.items():
        spec = topology.services.get(service)
        for name, subset in rule.subsets.items():
            out[(service, name)] = Subset(service, name, subset.labels)
            if spec is None or spec.external:
                continue
            if not any(_selects(subset.labels, d.labels) for d in spec.deployments):
                diagnostics.warn(
                    subset.node["labels"] if subset.node.has("labels") else subset.node,
                    f"subset {name!r} selects no pod of {service} (labels {subset.labels}); "
                    "Envoy would answer 503 UH (no healthy upstream) for it",
                    code="empty-subset",
                )
    return out


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# -- port-level and subset merging ---------------------------------------------------------------


def _present(node: Node) -> Node | None:
    return node if node.present else None


def port_components(policy: Node | None, port: int | None) -> tuple[Components, bool]:
    """The components for ``port``: a matching port-level entry replaces the whole policy."""
    if policy is None or not policy.present:
        return Components(), False
    for entry in policy["portLevelSettings"].items():
        number = entry["port"]["number"]
        if not number.present:
            raise entry.error("a portLevelSettings entry needs port.number")
        if port is not None and number.integer() == port:
            return Components(
                _present(entry["loadBalancer"]), _present(entry["connectionPool"]),
                _present(entry["outlierDetection"]), None,
            ), True
    return Components(
        _present(policy["loadBalancer"]), _present(policy["connectionPool"]),
        _present(policy["outlierDetection"]), _present(policy["retryBudget"]),
    ), False


def subset_components(rule: ServiceRule, subset: SubsetRule | None,
                      port: int | None) -> Components:
    """``MergeSubsetTrafficPolicy``: a subset component replaces the top-level one."""
    top, _ = port_components(rule.policy, port)
    if subset is None or not subset.policy.present:
        return top
    own, port_level = port_components(subset.policy, port)
    if rule.policy is None:
        return own

    def pick(mine: Node | None, theirs: Node | None) -> Node | None:
        return mine if mine is not None or port_level else theirs

    return Components(
        pick(own.load_balancer, top.load_balancer),
        pick(own.connection_pool, top.connection_pool),
        pick(own.outlier, top.outlier),
        own.retry_budget if own.retry_budget is not None else top.retry_budget,
    )


def port_numbers(rule: ServiceRule) -> list[Node]:
    """The ``port.number`` of every port-level entry of the rule, top level then subsets."""
    policies = [rule.policy, *(s.policy for s in rule.subsets.values())]
    return [
        entry["port"]["number"]
        for policy in policies if policy is not None
        for entry in policy["portLevelSettings"].items()
    ]


def service_port(rule: ServiceRule, route_ports: set[int],
                 diagnostics: Diagnostics) -> int | None:
    """The port meshsim takes the service's single port to be, for port-level settings.

    Scenario services have one port without a number: the number VirtualService destinations
    use for the service, else the only number the rule's port-level settings name.
    """
    numbers = port_numbers(rule)
    if not numbers:
        return None
    written = sorted({n.integer() for n in numbers})
    if len(route_ports) == 1:
        (port,) = route_ports
        for node in numbers:
            if node.integer() != port:
                diagnostics.warn(
                    node,
                    f"port-level settings for port {node.integer()} do not apply: "
                    f"VirtualService destinations reach {rule.service} on port {port}",
                    code="unused",
                )
        return port
    if len(route_ports) > 1 or len(written) > 1:
        reason = (
            f"VirtualService destinations use several ports ({sorted(route_ports)})"
            if route_ports else f"the rule names several ports ({written})"
        )
        for node in numbers:
            diagnostics.warn(
                node,
                f"port-level settings are not applied: {reason}, and a scenario service has "
                "one port; the service-level policy applies",
                code="approximated",
            )
        return None
    diagnostics.warn(
        numbers[0],
        f"meshsim takes port {written[0]} to be the single port of {rule.service}, so these "
        "port-level settings apply to all its traffic",
        code="approximated",
    )
    return written[0]


def build_clusters(
    rules: Mapping[str, ServiceRule], ports: Mapping[str, int | None], profile: IstioProfile,
    diagnostics: Diagnostics,
) -> dict[tuple[str, str | None], ClusterPolicy]:
    """One policy per Envoy cluster: the service's, and each subset's."""
    out: dict[tuple[str, str | None], ClusterPolicy] = {}
    for service, rule in rules.items():
        port = ports.get(service)
        out[(service, None)] = cluster_policy(subset_components(rule, None, port), profile,
                                              diagnostics)
        for name, subset in rule.subsets.items():
            out[(service, name)] = cluster_policy(subset_components(rule, subset, port),
                                                  profile, diagnostics)
    return out


def destination_hash(rule: ServiceRule | None, subset: str | None,
                     port: int | None) -> Node | None:
    """``hashForHTTPDestination``: subset port-level > subset > port-level > top level."""
    if rule is None:
        return None

    def lb_hash(policy: Node | None) -> Node | None:
        return _present(policy["loadBalancer"]["consistentHash"]) if policy is not None else None

    def port_hash(policy: Node | None) -> Node | None:
        if policy is None or port is None:
            return None
        for entry in policy["portLevelSettings"].items():
            if entry["port"]["number"].integer() == port:
                return _present(entry["loadBalancer"]["consistentHash"])
        return None

    chosen = lb_hash(rule.policy)
    own = rule.subsets.get(subset) if subset is not None else None
    own_policy = own.policy if own is not None and own.policy.present else None
    for candidate in (port_hash(rule.policy), lb_hash(own_policy), port_hash(own_policy)):
        if candidate is not None:
            chosen = candidate
    return chosen

