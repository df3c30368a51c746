"""Istio inbound security at the destination's sidecar: the mTLS mode, then Envoy RBAC.

Under STRICT a caller without a sidecar (plaintext) matches no filter chain of the inbound
listener: the connection is closed before any HTTP, so the caller sees a reset (503). Then the
RBAC filters run in Istio's order: DENY policies (any match → 403), ALLOW policies (when one
applies to the workload the request must match one of them), else the request goes on. A denial
is Envoy's local reply ``403 RBAC: access denied`` (details ``rbac_access_denied_matched_policy
[...]``, no response flag). A peer has a principal (its SPIFFE ID) only over mTLS: a plaintext
caller, or any caller of a DISABLE workload, has none, so principals and namespaces never match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from meshsim.model.authz import (
    IstioSecurity,
    RbacCondition,
    RbacPolicy,
    RbacRule,
    in_network,
    principal_namespace,
)
from meshsim.sim.messages import POD_ADDRESS, Attempt, Call

if TYPE_CHECKING:
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import Mesh

Authorizer = Callable[[Attempt], int]
DENIED = 403  # Envoy RBAC local reply
RESET = 503  # a plaintext connection closed by a STRICT listener


def authorizer(
    sim: Mesh, security: IstioSecurity, pod: Pod, namespace: str
) -> Authorizer | None:
    """The check ``pod``'s sidecar (in ``namespace``) runs on each inbound request; None when
    it admits all."""
    strict = security.mtls_mode(namespace, pod.labels) == "STRICT"
    mutual = security.mtls_mode(namespace, pod.labels) != "DISABLE"
    policies = security.policies_for(namespace, pod.labels)
    deny = tuple(p for p in policies if p.action == "DENY")
    allow = tuple(p for p in policies if p.action == "ALLOW")
    if not strict and not deny and not allow:
        return None
    reported: set[str] = set()

    def report(caller: str, detail: str) -> None:
        if caller not in reported:  # the first denial of each edge is an event
            reported.add(caller)
            sim.recorder.event(sim.env.now, "authz-deny", proxy=caller, service=pod.service,
                               subset=pod.version, pod=pod.name, detail=detail)

    def check(att: Attempt) -> int:
        call = att.call
        identity = call.proxy.identity
        if identity is None and strict:
            report(call.proxy.name, "PeerAuthentication STRICT: plaintext connection from a "
                   "caller without a sidecar reset (503)")
            return RESET
        principal = identity if mutual else None
        reason = decide(deny, allow, call, principal)
        if reason is None:
            return 200
        peer = principal or "a peer without mTLS identity"
        report(call.proxy.name, f"{peer} {reason}: 403 RBAC: access denied")
        return DENIED

    return check


def decide(deny: tuple[RbacPolicy, ...], allow: tuple[RbacPolicy, ...], call: Call,
           principal: str | None) -> str | None:
    """None = allowed; else why it is denied (the DENY policy matched, or no ALLOW one)."""
    for policy in deny:
        if policy_matches(policy, call, principal):
            return f"matched DENY policy {policy.name}"
    if allow and not any(policy_matches(p, call, principal) for p in allow):
        return f"matched none of the ALLOW policies ({', '.join(p.name for p in allow)})"
    return None


def policy_matches(policy: RbacPolicy, call: Call, principal: str | None) -> bool:
    return any(rule_matches(rule, call, principal) for rule in policy.rules)


def rule_matches(rule: RbacRule, call: Call, principal: str | None) -> bool:
    return any(
        all(holds(c, call, principal) for c in conditions) for conditions in rule.principals
    ) and any(
        all(holds(c, call, principal) for c in conditions) for conditions in rule.permissions
    )


def holds(condition: RbacCondition, call: Call, principal: str | None) -> bool:
    """Matches one of ``values`` (when given) and none of ``not_values``."""
    if condition.values and not any(
            value_matches(condition.key, v, call, principal) for v in condition.values):
        return False
    return not any(value_matches(condition.key, v, call, principal)
                   for v in condition.not_values)


def value_matches(key: str, value: str, call: Call, principal: str | None) -> bool:
    if key in ("source.ip", "remote.ip"):
        return in_network(POD_ADDRESS, value)
    if key == "destination.port":
        return True  # meshsim pods serve one unnumbered port: every port named is taken as it
    if key == "request.auth.principal":
        return False  # no JWT on simulated requests
    if key == "method":
        return call.method == value
    if key == "host":
        return string_matches(value.lower(), call.service.lower())
    return string_matches(value, attribute(key, call, principal))


def attribute(key: str, call: Call, principal: str | None) -> str | None:
    if key == "source.principal":
        return principal
    if key == "source.namespace":
        return principal_namespace(principal) if principal is not None else None
    if key == "path":
        return call.path.split("?", 1)[0]
    return header(call.headers, key[len("request.headers["):-1])


def header(headers: Mapping[str, str], name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), None)


def string_matches(pattern: str, actual: str | None) -> bool:
    """Istio's string match: ``*`` = present, ``x*`` prefix, ``*x`` suffix, else exact."""
    if actual is None:
        return False
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return actual.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return actual.endswith(pattern[1:])
    return actual == pattern
