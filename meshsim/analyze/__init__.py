"""``meshsim analyze``: istioctl-analyze-style findings over a scenario, without running it.

Istio's own checks (:mod:`.istio`, IST codes) read the manifests as written; meshsim's
resilience checks (:mod:`.resilience`, MSH codes) read the compiled model's call paths; a
dynamic finding can be confirmed by a short simulation (:mod:`.confirm`). A manifest that
names a missing host, subset or gateway stops loading (the scenario cannot run); analyze
reports that reference as istioctl does (IST0101, or IST0174 for a DestinationRule's host),
leaves that manifest out and checks the rest. Every other load error stays an error (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshsim.analyze import istio, locality, resilience
from meshsim.analyze import messages as msg
from meshsim.analyze.confirm import confirm as confirm_findings
from meshsim.analyze.messages import ALL, Finding, Level, MessageType, Resource, finding
from meshsim.config import Scenario, load_scenario
from meshsim.errors import MissingReference, ScenarioError

MAX_LEFT_OUT = 50  # manifests left out to check the rest; beyond, the error stands

__all__ = ["ALL", "Analysis", "Finding", "Level", "MessageType", "analyze"]


@dataclass(frozen=True)
class Analysis:
    """The findings for one scenario; ``stopped``: the load errors of the manifests left out."""

    file: str
    findings: list[Finding] = field(default_factory=list)
    stopped: str = ""


def analyze(path: str | Path, overrides: Mapping[str, object] | None = None, *,
            strict: bool = False, confirm: bool = False, seed: int | None = None) -> Analysis:
    """Load ``path`` and run every check; ``confirm`` simulates the dynamic findings."""
    scenario, found, stopped = _load(Path(path), overrides, strict)
    if scenario is not None:
        found += istio.check(scenario.model, scenario.manifests, scenario.warnings)
        found += resilience.check(scenario.model, scenario.manifests)
        found += locality.check(scenario.model, scenario.manifests)
    found.sort(key=lambda f: (f.resource.file, f.resource.line or 0, f.type.code))
    if confirm and scenario is not None:
        found = confirm_findings(scenario.model, found, seed)
    return Analysis(str(path), found, stopped="; ".join(stopped))


def _load(path: Path, overrides: Mapping[str, object] | None,
          strict: bool) -> tuple[Scenario | None, list[Finding], list[str]]:
    """The scenario without the manifests that name something missing (each a finding);
    None when leaving them out breaks the rest (a workload that entered through a Gateway
    a left-out VirtualService served)."""
    found: list[Finding] = []
    left_out: set[tuple[str, str, str]] = set()
    stopped: list[str] = []
    while True:
        try:
            scenario = load_scenario(path, overrides, strict, leave_out=frozenset(left_out))
            return scenario, found, stopped
        except MissingReference as exc:
            key = (exc.kind, exc.name, exc.namespace)
            if key in left_out or len(left_out) >= MAX_LEFT_OUT:
                raise
            found.append(_reference(exc))
            stopped.append(exc.format())
            left_out.add(key)
        except ScenarioError as exc:
            if not left_out:
                raise
            stopped.append(f"then {exc.format()}; no other check ran")
            return None, found, stopped


def _reference(exc: MissingReference) -> Finding:
    where = Resource(exc.kind, exc.name, exc.namespace or "default", exc.location.file,
                     exc.location.line)
    if exc.reference == "destinationrule host":
        return finding(msg.UnknownDestinationRuleHost, where, exc.value)
    return finding(msg.ReferencedResourceNotFound, where, exc.reference, exc.value)
