"""One VirtualService ``http`` rule → the parts every Envoy route made from it shares.

``route/route.go`` ``translateRoute``: a rule is a ``redirect``, a ``directResponse`` (both
answered by Envoy itself) or a ``route`` to weighted destinations, which alone carries the
timeout (``setTimeout``: unset → 0, disabled), the retry policy and the mirrors; the fault and
request headers apply to all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.model.routes import Backend, FaultInjection, HashKey, Mirror, RetryPolicy

from .clusters import hash_key
from .destinationrule import ServiceRule, destination_hash
from .destinations import Destinations, header_operations
from .faults import fault_injection, mirrors
from .profile import IstioProfile
from .retry import convert_retries

REDIRECT_CODES = (301, 302, 303, 307, 308)
_ROUTE_ONLY = ("timeout", "retries", "mirror", "mirrors", "mirrorPercentage", "mirrorPercent")


@dataclass(frozen=True)
class RuleAction:
    """Everything of a rule but its matches."""

    backends: tuple[Backend, ...] = ()
    timeout: float = 0.0
    retry: RetryPolicy | None = None
    fault: FaultInjection | None = None
    mirrors: tuple[Mirror, ...] = ()
    hash_key: HashKey | None = None
    direct_status: int | None = None
    set_headers: Mapping[str, str] = field(default_factory=dict)
    remove_headers: tuple[str, ...] = ()


def rule_action(rule: Node, destinations: Destinations, rules: Mapping[str, ServiceRule],
                profile: IstioProfile, diagnostics: Diagnostics) -> RuleAction | None:
    """The rule's action; None for a ``delegate`` rule (not modelled, already warned)."""
    kinds = [k for k in ("route", "redirect", "directResponse", "delegate") if rule.has(k)]
    if not kinds:
        raise rule.error("an http rule needs a route, a redirect or a directResponse")
    if len(kinds) > 1:
        raise rule.error(f"an http rule takes one of route, redirect, directResponse or "
                         f"delegate, got {' and '.join(kinds)}")
    if kinds[0] == "delegate":
        return None
    set_headers, remove = header_operations(rule["headers"], diagnostics)
    fault = fault_injection(rule["fault"], diagnostics)
    if kinds[0] != "route":
        for key in _ROUTE_ONLY:
            if rule.has(key):
                diagnostics.warn(rule[key], f"{key} has no effect on a {kinds[0]} rule "
                                 "(Envoy answers it itself)", code="no-effect")
        return RuleAction(fault=fault, direct_status=_direct_status(rule),
                          set_headers=set_headers, remove_headers=remove)
    weighted = destinations.backends(rule["route"])
    backends = [b for b, _ in weighted]
    keys = [_hash(b, rules) for b in backends]
    consistent = len(backends) == 1 and keys[0] is not None
    if len(backends) == 1:  # processDestination: its headers join the route's
        only = backends[0]
        set_headers = {**set_headers, **only.set_headers}
        remove = (*remove, *only.remove_headers)
        backends = [Backend(only.service, only.subset, only.weight, only.port)]
    timeout = rule["timeout"].duration() if rule.has("timeout") else 0.0
    return RuleAction(
        backends=tuple(backends),
        timeout=timeout,
        retry=convert_retries(rule["retries"], profile, diagnostics, consistent_hash=consistent),
        fault=fault,
        mirrors=tuple(mirrors(rule, destinations, diagnostics)),
        hash_key=_first_key(keys),
        set_headers=set_headers,
        remove_headers=remove,
    )


def _hash(backend: Backend, rules: Mapping[str, ServiceRule]) -> Node | None:
    return destination_hash(rules.get(backend.service), backend.subset, backend.port)


def _first_key(nodes: list[Node | None]) -> HashKey | None:
    for node in nodes:
        if node is not None:
            return hash_key(node)
    return None


def _direct_status(rule: Node) -> int:
    if rule.has("redirect"):
        code = rule["redirect"]["redirectCode"]
        status = code.integer(0) or 301
        if status not in REDIRECT_CODES:
            raise code.error(
                f"redirectCode must be one of {', '.join(map(str, REDIRECT_CODES))}, got {status}"
            )
        return status
    status_node = rule["directResponse"]["status"]
    if not status_node.present:
        raise rule["directResponse"].error("directResponse needs a status")
    return status_node.integer(minimum=200, maximum=599)
