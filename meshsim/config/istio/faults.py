"""VirtualService ``fault`` and mirrors (``route/route.go`` ``TranslateFault``, ``MirrorPercent``).

Fault percentages: ``percentage.value``, else (delay only) the deprecated integer ``percent``;
neither → 0 %, nothing is injected. Mirror percentages: absent → 100 %, an explicit 0 turns the
mirror off; ``mirror`` (with ``mirrorPercentage`` or the deprecated ``mirrorPercent``) and every
``mirrors[]`` entry each become one mirror policy.
"""

from __future__ import annotations

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.model.routes import FaultInjection, Mirror

from .destinations import Destinations


def fault_injection(node: Node, diagnostics: Diagnostics) -> FaultInjection | None:
    if not node.present:
        return None
    delay, abort = node["delay"], node["abort"]
    if not delay.present and not abort.present:
        raise node.error("fault needs a delay, an abort or both")
    delay_percent, delay_seconds = 0.0, 0.0
    has_delay = delay.present and delay.has("fixedDelay")
    if delay.present and not delay.has("fixedDelay") and not delay.has("exponentialDelay"):
        raise delay.error("delay needs fixedDelay")
    if has_delay:
        delay_seconds = delay["fixedDelay"].duration(minimum=0.001)
        if delay.has("percentage"):
            delay_percent = percent(delay["percentage"])
        else:
            delay_percent = float(delay["percent"].integer(0, minimum=0, maximum=100))
            if not delay.has("percent"):
                _no_percentage(delay, diagnostics)
    abort_percent, status = 0.0, 503
    has_abort = abort.present and abort.has("httpStatus")
    if abort.present and not abort.has("httpStatus") and not (
        abort.has("grpcStatus") or abort.has("http2Error")
    ):
        raise abort.error("abort needs httpStatus")
    if has_abort:
        status = abort["httpStatus"].integer(minimum=200, maximum=599)
        if abort.has("percentage"):
            abort_percent = percent(abort["percentage"])
        else:
            _no_percentage(abort, diagnostics)
    if not has_delay and not has_abort:
        return None
    return FaultInjection(delay_percent, delay_seconds, abort_percent, status)


def _no_percentage(node: Node, diagnostics: Diagnostics) -> None:
    diagnostics.warn(
        node,
        f"fault {node.name} has no percentage: Envoy injects it into 0% of requests, so it "
        "never fires (set percentage.value)",
        code="no-effect",
    )


def percent(node: Node) -> float:
    """A ``Percent`` message: ``{value: 0..100}``."""
    if not isinstance(node.value, dict):
        raise node.error(f"{node.name} must be a mapping like {{value: 10}}")
    value = node["value"].number(0.0)
    if not 0.0 <= value <= 100.0:
        raise node["value"].error(f"{node.name} must be between 0 and 100, got {value:g}")
    return value


def mirrors(rule: Node, destinations: Destinations, diagnostics: Diagnostics) -> list[Mirror]:
    out: list[Mirror] = []
    if rule.has("mirror"):
        share = 100.0
        if rule.has("mirrorPercentage"):
            share = percent(rule["mirrorPercentage"])
        elif rule.has("mirrorPercent"):
            share = float(rule["mirrorPercent"].integer(minimum=0, maximum=100))
        target = destinations.target(rule["mirror"])
        if share > 0:
            out.append(Mirror(target.service, target.subset, share))
    else:
        for key in ("mirrorPercentage", "mirrorPercent"):
            if rule.has(key):
                diagnostics.warn(rule[key], f"{key} without mirror has no effect", "no-effect")
    for entry in rule["mirrors"].items():
        if not entry["destination"].present:
            raise entry.error("a mirrors entry needs a destination")
        target = destinations.target(entry["destination"])
        share = percent(entry["percentage"]) if entry.has("percentage") else 100.0
        if share > 0:
            out.append(Mirror(target.service, target.subset, share))
    return out
