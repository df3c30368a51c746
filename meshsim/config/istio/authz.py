"""AuthorizationPolicy → :class:`RbacPolicy`: what istiod's authz builder gives each sidecar.

Follows ``pilot/pkg/security/authz/model`` (``model.go``): each ``from`` source becomes one
principal list and each ``to`` operation one permission list, ``when`` conditions are appended
to every list of their side, and a rule matches when one list of each side holds. A policy
without rules matches nothing (ALLOW: allow-nothing). A condition meshsim cannot evaluate is
handled as Istio handles one it cannot generate (``checkError``): in an ALLOW policy the whole
rule is skipped (a smaller allow), in DENY and AUDIT the condition is dropped (a wider deny).
CUSTOM (ext_authz) is not modelled: a named warning and no effect.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import cast

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.model.authz import (
    RbacAction,
    RbacCondition,
    RbacPolicy,
    RbacRule,
    WorkloadSelector,
    spiffe_principal,
)
from meshsim.model.topology import Topology

ACTIONS = ("ALLOW", "DENY", "AUDIT", "CUSTOM")
# ``when`` keys meshsim evaluates, and the side of the rule Istio puts them on.
PRINCIPAL_KEYS = ("source.ip", "remote.ip", "source.namespace", "source.principal")
PERMISSION_KEYS = ("destination.port",)
NO_JWT_KEYS = ("request.auth.principal", "request.auth.audiences", "request.auth.presenter")
UNEVALUATED_KEYS = ("destination.ip", "connection.sni")
ENVOY_FILTER_PREFIX = "experimental.envoy.filters."
SOURCE_FIELDS = {  # field → Istio attribute it constrains (its not* twin negates)
    "principals": "source.principal", "requestPrincipals": "request.auth.principal",
    "namespaces": "source.namespace", "ipBlocks": "source.ip", "remoteIpBlocks": "remote.ip",
    "serviceAccounts": "source.principal",
}
OPERATION_FIELDS = {
    "hosts": "host", "ports": "destination.port", "methods": "method", "paths": "path",
}
_NO_JWT = ("requests carry no JWT in meshsim (RequestAuthentication is not modelled), so it "
           "never matches a value")
_PORT = ("meshsim pods serve one unnumbered port: every port named here is taken to be it "
         "(ports match, notPorts exclude)")
_IP = "every in-cluster caller has the address 10.244.0.10 in meshsim"


class Unevaluated(Exception):
    """A condition meshsim cannot evaluate (Istio's generator error path)."""


def parse_authorization(
    manifests: Iterable[Manifest], topology: Topology, sidecars: Mapping[str, bool],
    diagnostics: Diagnostics,
) -> tuple[RbacPolicy, ...]:
    out: list[RbacPolicy] = []
    for manifest in manifests:
        policy = parse_policy(manifest, diagnostics)
        if policy is None:
            continue
        _warn_if_unbound(manifest, policy.selector, topology, sidecars, diagnostics)
        out.append(policy)
    return tuple(out)


def parse_policy(manifest: Manifest, diagnostics: Diagnostics) -> RbacPolicy | None:
    """The policy, or None when it binds no sidecar (CUSTOM, targetRefs)."""
    spec = Node.root(manifest)["spec"]
    action = spec["action"].choice(ACTIONS, "ALLOW")
    if spec.has("provider") and action != "CUSTOM":
        raise spec["provider"].error("provider must only be set with action CUSTOM")
    selector = policy_selector(spec, manifest.namespace, diagnostics)
    rules = [parse_rule(node, action, manifest.namespace, diagnostics)
             for node in spec["rules"].items()]
    if action == "CUSTOM":
        diagnostics.warn(spec["action"], f"{manifest.key}: CUSTOM authorization (an external "
                         "authorizer) is not modelled: the policy has no effect on traffic")
        return None
    if action == "AUDIT":
        diagnostics.warn(spec["action"], f"{manifest.key}: AUDIT only marks requests for audit "
                         "logging, which meshsim does not record: no effect on traffic")
    if selector is None:
        return None
    kept = tuple(r for r in rules if r is not None)
    return RbacPolicy(f"{manifest.namespace}/{manifest.name}", cast(RbacAction, action),
                      selector, kept)


def policy_selector(spec: Node, namespace: str,
                    diagnostics: Diagnostics) -> WorkloadSelector | None:
    """``selector``, else namespace-wide; ``targetRef(s)`` bind gateways and waypoints only."""
    given = [k for k in ("selector", "targetRef", "targetRefs") if spec.has(k)]
    if len(given) > 1:
        raise spec[given[1]].error(
            "only one of targetRefs, targetRef or selector can be set")
    if given and given[0] != "selector":
        diagnostics.warn(spec[given[0]], f"{given[0]} attaches the policy to a Gateway or "
                         "waypoint, which meshsim does not enforce: no sidecar applies it",
                         code="no-effect")
        return None
    labels = spec["selector"]["matchLabels"].string_map() if given else None
    return WorkloadSelector(namespace, labels or None)


def parse_rule(node: Node, action: str, namespace: str,
               diagnostics: Diagnostics) -> RbacRule | None:
    """One rule; None when an ALLOW rule holds a condition meshsim cannot evaluate."""
    try:
        base_principal, base_permission = when_conditions(node["when"], action, diagnostics)
        principals = [
            (*source_conditions(item, action, namespace, diagnostics), *base_principal)
            for item in node["from"].items()
        ] or [tuple(base_principal)]
        permissions = [
            (*operation_conditions(item, diagnostics), *base_permission)
            for item in node["to"].items()
        ] or [tuple(base_permission)]
    except Unevaluated as exc:
        diagnostics.warn(node, f"{exc}: in an ALLOW policy Istio skips the whole rule, so it "
                         "allows nothing", code="approximated")
        return None
    return RbacRule(tuple(principals), tuple(permissions))


def when_conditions(
    node: Node, action: str, diagnostics: Diagnostics,
) -> tuple[list[RbacCondition], list[RbacCondition]]:
    principal: list[RbacCondition] = []
    permission: list[RbacCondition] = []
    for item in node.items():
        key = item["key"].string()
        if not key:
            raise item.error("a when condition needs a key")
        values, not_values = item["values"].strings(), item["notValues"].strings()
        if not values and not not_values:
            raise item.error(f"at least one of values or notValues must be set for key {key}")
        for value_node in [*item["values"].items(), *item["notValues"].items()]:
            check_value(value_node, key)
        condition = RbacCondition(key, tuple(values), tuple(not_values))
        if key in PRINCIPAL_KEYS or _is_header(key, item):
            principal.append(condition)
            _warn_approximation(item["key"], key, diagnostics)
        elif key in PERMISSION_KEYS:
            permission.append(condition)
            diagnostics.warn(item["key"], f"{key}: {_PORT}", code="approximated")
        elif key in NO_JWT_KEYS or key.startswith("request.auth.claims["):
            diagnostics.warn(item["key"], f"{key}: {_NO_JWT}", code="approximated")
            principal.append(RbacCondition("request.auth.principal", tuple(values),
                                           tuple(not_values)))
        elif key in UNEVALUATED_KEYS or key.startswith(ENVOY_FILTER_PREFIX):
            reason = f"when key {key} is not modelled (meshsim cannot evaluate it)"
            if action == "ALLOW":
                raise Unevaluated(reason)
            diagnostics.warn(item["key"], f"{reason}: in a {action} policy Istio drops the "
                             "condition, so the rule matches more requests")
        else:
            raise item["key"].error(f"unknown attribute {key!r} (Istio rejects it)")
    return principal, permission


def _is_header(key: str, item: Node) -> bool:
    if not key.startswith("request.headers"):
        return False
    if not (key.startswith("request.headers[") and key.endswith("]") and len(key) > 17):
        raise item["key"].error(f"invalid key {key!r}: expected request.headers[<name>]")
    return True


def source_conditions(item: Node, action: str, namespace: str,
                      diagnostics: Diagnostics) -> list[RbacCondition]:
    source = item["source"]
    if not source.present or not source.mapping():
        raise item.error("from.source must not be empty")
    out: list[RbacCondition] = []
    for field, key in SOURCE_FIELDS.items():
        negated = "not" + field[0].upper() + field[1:]
        values, not_values = source[field].strings(), source[negated].strings()
        if not values and not not_values:
            continue
        for value_node in [*source[field].items(), *source[negated].items()]:
            check_value(value_node, key)
            if field == "principals":
                _warn_if_not_identity(value_node, diagnostics)
        if field == "serviceAccounts":
            values = [_service_account(v, namespace) for v in values]
            not_values = [_service_account(v, namespace) for v in not_values]
        where = source[field] if source.has(field) else source[negated]
        if key == "request.auth.principal":
            diagnostics.warn(where, f"{where.name}: {_NO_JWT}", code="approximated")
        _warn_approximation(where, key, diagnostics)
        out.append(RbacCondition(key, tuple(values), tuple(not_values)))
    return out


_IDENTITY = re.compile(r"[^/]+/ns/[^/]+/sa/[^/]+")


def _warn_if_not_identity(node: Node, diagnostics: Diagnostics) -> None:
    """A principal Istio accepts but no workload identity can match (``users``,
    ``spiffe://...``): the rule silently never applies, which is rarely what was meant."""
    value = node.string()
    if "*" in value or _IDENTITY.fullmatch(value):
        return
    diagnostics.warn(node, f"principal {value!r} is not <trust-domain>/ns/<namespace>/sa/"
                     "<service-account> (without spiffe://): it matches no workload",
                     code="no-effect")


def _service_account(value: str, namespace: str) -> str:
    ns, _, account = value.rpartition("/")
    return spiffe_principal(account, ns or namespace)


def operation_conditions(item: Node, diagnostics: Diagnostics) -> list[RbacCondition]:
    operation = item["operation"]
    if not operation.present or not operation.mapping():
        raise item.error("to.operation must not be empty")
    out: list[RbacCondition] = []
    for field, key in OPERATION_FIELDS.items():
        negated = "not" + field[0].upper() + field[1:]
        values, not_values = operation[field].strings(), operation[negated].strings()
        if not values and not not_values:
            continue
        for value_node in [*operation[field].items(), *operation[negated].items()]:
            check_value(value_node, key)
        if key == "destination.port":
            where = operation[field] if operation.has(field) else operation[negated]
            diagnostics.warn(where, f"{where.name}: {_PORT}", code="approximated")
        out.append(RbacCondition(key, tuple(values), tuple(not_values)))
    return out


def _warn_approximation(node: Node, key: str, diagnostics: Diagnostics) -> None:
    if key in ("source.ip", "remote.ip"):
        diagnostics.warn(node, f"{node.name}: {_IP}", code="approximated")


def check_value(node: Node, key: str) -> None:
    """Istio's validation of one value: IPs and CIDRs, ports, and ``*`` only at an end."""
    value = node.string()
    if not value:
        raise node.error("empty value not allowed (Istio rejects it: an empty string "
                         "matches nothing)")
    if key in ("source.ip", "remote.ip"):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise node.error(f"invalid IP address or CIDR block {value!r}") from None
    elif key == "destination.port":
        if not value.isdigit() or not 0 <= int(value) <= 65535:
            raise node.error(f"invalid port {value!r}: must be a number in [0, 65535]")
    elif key != "method" and (value.count("*") > 1 or (
            "*" in value and not (value.startswith("*") or value.endswith("*")))):
        raise node.error(f"invalid value {value!r}: '*' is only allowed at the start or the end")


def _warn_if_unbound(manifest: Manifest, selector: WorkloadSelector, topology: Topology,
                     sidecars: Mapping[str, bool], diagnostics: Diagnostics) -> None:
    """A policy no sidecar of the scenario enforces is loaded but does nothing."""
    for name, service in topology.services.items():
        if not sidecars.get(name, False):
            continue
        if any(selector.selects(service.namespace, d.labels) for d in service.deployments):
            return
    diagnostics.warn(Node.root(manifest), f"{manifest.key} applies to no workload with a "
                     "sidecar in the scenario (labels are app=<service>, version=<version> and "
                     "the services' own; ingress gateways enforce no policy in meshsim)",
                     code="no-effect")

