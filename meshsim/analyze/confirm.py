"""``--confirm``: run a short simulation that provokes a dynamic finding and say what it showed.

A retry-chain finding (MSH0101, MSH0105) is a bound; whether it happens depends on timeouts,
back-off and breakers. The rehearsal takes the deepest retried service down for a few
simulated seconds and counts attempts at it per workload request, and ejections of its pods.
"""

from __future__ import annotations

from dataclasses import replace

import meshsim.api as api
from meshsim.analyze import messages as msg
from meshsim.analyze.messages import Finding, Probe
from meshsim.model import Model
from meshsim.model.faults import Fault, FaultTarget

LENGTH = 3.0  # simulated seconds
FAULT_AT = 0.5


def confirm(model: Model, findings: list[Finding], seed: int | None = None) -> list[Finding]:
    """``findings`` with ``confirmation`` set on those a simulation can provoke."""
    measured: dict[str, tuple[float, int]] = {}
    out = []
    for found in findings:
        probe = found.probe
        if probe is None:
            out.append(found)
            continue
        if probe.service not in measured:
            measured[probe.service] = rehearse(model, probe.service, seed)
        per_request, ejections = measured[probe.service]
        out.append(replace(found, confirmation=verdict(found, probe, per_request, ejections)))
    return out


def rehearse(model: Model, service: str, seed: int | None) -> tuple[float, int]:
    """Attempts at ``service`` per workload request while it is down, and its ejections."""
    fault = Fault(at=FAULT_AT, duration=LENGTH - FAULT_AT, target=FaultTarget(service),
                  down=True)
    short = replace(model, faults=(fault,), duration=LENGTH, warmup=0.0, expectations=(),
                    rollouts=(), record_attempts=True)
    results = api.simulate(short, seed=seed, allow_large=True)
    requests, attempts, events = results.requests, results.attempts, results.events
    started = requests[requests["start"] >= FAULT_AT]
    at = attempts[(attempts["service"] == service) & (attempts["start"] >= FAULT_AT)]
    ejections = int(((events["kind"] == "eject") & (events["service"] == service)).sum())
    return (len(at) / len(started) if len(started) else 0.0), ejections


def verdict(found: Finding, probe: Probe, per_request: float, ejections: int) -> str:
    """``confirmed: ...`` when the rehearsal showed what the finding says, with the figures."""
    rehearsal = f"{LENGTH - FAULT_AT:g} s simulation with {probe.service} down"
    if found.type is msg.RetryAmplification:
        shown = per_request > probe.single  # more than the deepest hop's own retries
        seen = f"{per_request:.1f} attempts at {probe.service} per request"
    else:
        shown = ejections == 0 and per_request > 1
        seen = f"{per_request:.1f} attempts per request, {ejections} ejections"
    return f"{'confirmed' if shown else 'not confirmed'}: {rehearsal}: {seen}"
