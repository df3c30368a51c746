"""meshsim's own checks (MSH codes): how retries and timeouts compose along call paths.

No linter has these because they need the call graph, which the scenario has: a retry at one
hop multiplies the retries below it, a timeout means little inside a caller that gave up
sooner, and a mirror shares pods with production. Each check reads :mod:`.paths`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import replace

from meshsim.analyze import messages as msg
from meshsim.analyze.messages import Finding, Probe, finding
from meshsim.analyze.paths import Hop, Path, paths
from meshsim.analyze.resources import of_route
from meshsim.config import Manifest
from meshsim.model import Model
from meshsim.model.clusters import ClusterPolicy

NON_IDEMPOTENT = frozenset({"POST", "PATCH", "CONNECT"})
# Envoy retry_on conditions that fire after the request may have reached the app.
AFTER_SENDING = frozenset({
    "5xx", "gateway-error", "reset", "retriable-4xx", "retriable-status-codes",
    "retriable-headers", "cancelled", "deadline-exceeded", "internal", "resource-exhausted",
    "unavailable",
})


def check(model: Model, manifests: Sequence[Manifest]) -> list[Finding]:
    found = paths(model)
    checks = (amplification, deep_unprotected, per_try_budget, inner_timeouts, non_idempotent,
              linkerd_without_budget)
    out: list[Finding] = []
    for each in checks:
        out += _unique(each(model, manifests, found))
    out += _unique(mirrors(model, manifests, found))
    return out


def _unique(findings: Iterator[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def duration(seconds: float) -> str:
    if seconds >= 1 and float(seconds).is_integer():
        return f"{seconds:g}s"
    return f"{seconds * 1000:g}ms"


def retrying(path: Path) -> list[int]:
    """Indexes of the hops on ``path`` that retry because someone wrote a retry policy."""
    return [i for i, h in enumerate(path.hops) if h.explicit_retry]


# -- MSH0101 / MSH0105 ---------------------------------------------------------------------------
def amplification(model: Model, manifests: Sequence[Manifest],
                  found: list[Path]) -> Iterator[Finding]:
    for path in found:
        hops = retrying(path)
        if len(hops) < 2:
            continue
        deepest = path.hops[hops[-1]]
        chain = [path.hops[i] for i in hops]  # the mesh's default retries are left out
        factors = " x ".join(str(h.tries) for h in chain)
        where = of_route(manifests, model, deepest.route, deepest.service)
        found_ = finding(msg.RetryAmplification, where, len(hops), _names(path, hops[-1] + 1),
                         math.prod(h.tries for h in chain), deepest.service, factors)
        yield replace(found_, probe=Probe(deepest.service, deepest.tries))


def deep_unprotected(model: Model, manifests: Sequence[Manifest],
                     found: list[Path]) -> Iterator[Finding]:
    for path in found:
        hops = retrying(path)
        if len(hops) < 2:
            continue
        deepest = path.hops[hops[-1]]
        if any(_has_budget(model, path.hops[i]) for i in hops) or _protected(model, deepest):
            continue
        where = of_route(manifests, model, deepest.route, deepest.service)
        found_ = finding(msg.DeepRetryChainUnprotected, where, deepest.service, len(hops),
                         _names(path, hops[-1] + 1))
        yield replace(found_, probe=Probe(deepest.service, deepest.tries))


def _names(path: Path, hops: int) -> str:
    return " -> ".join([path.workload, *(h.service for h in path.hops[:hops])])


def _clusters(model: Model, hop: Hop) -> list[ClusterPolicy]:
    policy = model.policy
    if policy is None or hop.route is None:
        return []
    targets = {(b.service, b.subset) for b in hop.route.backends} or {(hop.service, None)}
    return [policy.clusters.get(t, policy.clusters.get((t[0], None), policy.default_cluster))
            for t in targets]


def _has_budget(model: Model, hop: Hop) -> bool:
    return any(c.circuit_breakers.retry_budget is not None for c in _clusters(model, hop))


def _protected(model: Model, hop: Hop) -> bool:
    """Outlier detection (Envoy) or failure accrual (Linkerd) for the hop's destination."""
    if model.mesh.name == "linkerd" and model.policy is not None:
        backend = model.policy.backends.get(hop.service, model.policy.default_backend)
        return backend.failure_accrual is not None
    clusters = _clusters(model, hop)
    return bool(clusters) and all(c.outlier is not None for c in clusters)


# -- MSH0102 -------------------------------------------------------------------------------------
def per_try_budget(model: Model, manifests: Sequence[Manifest],
                   found: list[Path]) -> Iterator[Finding]:
    for hop in _hops(found):
        route = hop.route
        if route is None or route.timeout <= 0 or hop.per_try <= 0 or hop.tries < 2:
            continue
        if hop.tries * hop.per_try <= route.timeout:
            continue
        where = of_route(manifests, model, route, hop.service)
        yield finding(msg.PerTryTimeoutsExceedRouteTimeout, where, route.name, hop.service,
                      hop.tries, duration(hop.per_try), duration(hop.tries * hop.per_try),
                      duration(route.timeout), max(1, int(route.timeout // hop.per_try)))


def _hops(found: list[Path]) -> list[Hop]:
    unique = {h.key(): h for p in found for h in p.hops}
    return list(unique.values())


# -- MSH0103 -------------------------------------------------------------------------------------
def inner_timeouts(model: Model, manifests: Sequence[Manifest],
                   found: list[Path]) -> Iterator[Finding]:
    for path in found:
        for i, hop in enumerate(path.hops):
            outer = _caller_wait(path, i)
            if hop.route is None or hop.total <= 0 or outer is None:
                continue
            wait, why = outer
            if hop.total > wait + 1e-9:
                where = of_route(manifests, model, hop.route, hop.service)
                yield finding(msg.InnerTimeoutLongerThanCaller, where, hop.route.name,
                              hop.service, duration(hop.total), hop.caller,
                              f"{duration(wait)} ({why})")


def _caller_wait(path: Path, i: int) -> tuple[float, str] | None:
    """The tightest limit above hop ``i``: an ancestor's attempt or the workload's timeout."""
    limits = [(h.attempt_wait, f"route {h.route.name} from {h.caller}")
              for h in path.hops[:i] if h.route is not None and h.attempt_wait > 0]
    if path.timeout > 0:
        limits.append((path.timeout, f"workload {path.workload}'s timeout"))
    return min(limits, key=lambda x: x[0]) if limits else None


# -- MSH0104 -------------------------------------------------------------------------------------
def non_idempotent(model: Model, manifests: Sequence[Manifest],
                   found: list[Path]) -> Iterator[Finding]:
    for hop in _hops(found):
        method = hop.request.method.upper()
        if method not in NON_IDEMPOTENT or hop.route is None:
            continue
        conditions = _after_sending(hop)
        if not conditions:
            continue
        where = of_route(manifests, model, hop.route, hop.service)
        yield finding(msg.RetryOnNonIdempotent, where, hop.route.name, hop.service, method,
                      hop.caller, conditions, method)


def _after_sending(hop: Hop) -> str:
    """What makes the route retry a request the app may already have processed, or ''."""
    route = hop.route
    assert route is not None
    if route.policy_retry is not None and route.policy_retry.limit > 0:
        parts = [f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in route.policy_retry.codes]
        if route.policy_retry.timeout > 0:
            parts.append("timeout")
        return ", ".join(parts)
    if route.is_retryable and route.retry_budget is not None:
        return "isRetryable failures"
    if not hop.explicit_retry or route.retry is None:
        return ""
    parts = sorted(route.retry.retry_on & AFTER_SENDING)
    parts += [str(c) for c in sorted(route.retry.retriable_status_codes)
              if "retriable-status-codes" not in route.retry.retry_on]
    if route.retry.per_try_timeout > 0:
        parts.append("per-try timeout")
    return ", ".join(parts)


# -- MSH0106 -------------------------------------------------------------------------------------
def mirrors(model: Model, manifests: Sequence[Manifest], found: list[Path]) -> Iterator[Finding]:
    hops = _hops(found)
    for hop in hops:
        route = hop.route
        for mirror in route.mirrors if route is not None else ():
            callers = sorted({h.caller for h in hops if _serves(h, mirror.service, mirror.subset)})
            if not callers:
                continue
            target = mirror.service + (f" subset {mirror.subset}" if mirror.subset else "")
            assert route is not None
            where = of_route(manifests, model, route, hop.service)
            yield finding(msg.MirrorIntoProduction, where, route.name, f"{mirror.percent:g}",
                          target, ", ".join(callers))


def _serves(hop: Hop, service: str, subset: str | None) -> bool:
    """Does ``hop`` send production traffic to the pods of ``service`` (``subset``)?"""
    if hop.route is None or not hop.route.backends:
        return hop.service == service
    return any(b.service == service and (b.subset is None or subset is None
                                         or b.subset == subset) for b in hop.route.backends)


# -- MSH0107 -------------------------------------------------------------------------------------
def linkerd_without_budget(model: Model, manifests: Sequence[Manifest],
                           found: list[Path]) -> Iterator[Finding]:
    if model.mesh.name != "linkerd":
        return
    for hop in _hops(found):
        route = hop.route
        if route is None or route.policy_retry is None or route.policy_retry.limit <= 0:
            continue
        where = of_route(manifests, model, route, hop.service)
        limit = route.policy_retry.limit
        yield finding(msg.LinkerdRetriesWithoutBudget, where, route.name, hop.service, limit,
                      f"retry.linkerd.io/limit {limit}", hop.service, limit + 1)
