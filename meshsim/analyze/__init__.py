"""``meshsim analyze``: istioctl-analyze-style findings over a scenario, without running it.

Istio's own checks (:mod:`.istio`, IST codes) read the manifests as written; meshsim's
resilience checks (:mod:`.resilience`, MSH codes) read the compiled model's call paths; a
dynamic finding can be confirmed by a short simulation (:mod:`.confirm`). A manifest that
names a missing host, subset or gateway stops loading (the scenario cannot run); analyze
reports that reference as istioctl does (IST0101, or IST0174 for a DestinationRule's host)
and, having no model, nothing else. Every other load error stays an error (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import meshsim.api as api
from meshsim.analyze import istio, resilience
from meshsim.analyze import messages as msg
from meshsim.analyze.confirm import confirm as confirm_findings
from meshsim.analyze.messages import ALL, Finding, Level, MessageType, Resource, finding
from meshsim.errors import MissingReference

__all__ = ["ALL", "Analysis", "Finding", "Level", "MessageType", "analyze"]


@dataclass(frozen=True)
class Analysis:
    """The findings for one scenario; ``stopped`` says why the later checks could not run."""

    file: str
    findings: list[Finding] = field(default_factory=list)
    stopped: str = ""

    def worst(self) -> Level | None:
        return max((f.level for f in self.findings), default=None)


def analyze(path: str | Path, overrides: Mapping[str, object] | None = None, *,
            strict: bool = False, confirm: bool = False, seed: int | None = None) -> Analysis:
    """Load ``path`` and run every check; ``confirm`` simulates the dynamic findings."""
    try:
        scenario = api.load(path, overrides, strict=strict)
    except MissingReference as exc:
        return Analysis(str(path), [_reference(exc)], stopped=exc.format())
    model = scenario.model
    findings = [
        *istio.check(model, scenario.manifests, scenario.warnings),
        *resilience.check(model, scenario.manifests),
    ]
    findings.sort(key=lambda f: (f.resource.file, f.resource.line or 0, f.type.code))
    if confirm:
        findings = confirm_findings(model, findings, seed)
    return Analysis(str(path), findings)


def _reference(exc: MissingReference) -> Finding:
    where = Resource(exc.kind, exc.name, exc.namespace or "default", exc.location.file,
                     exc.location.line)
    if exc.reference == "destinationrule host":
        return finding(msg.UnknownDestinationRuleHost, where, exc.value)
    return finding(msg.ReferencedResourceNotFound, where, exc.reference, exc.value)
