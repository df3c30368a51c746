"""What ``meshsim analyze`` says: istioctl analyze's message types, levels and format.

A finding prints as istioctl prints a message (``pkg/config/analysis/diag/message.go``):
``Level [CODE] (Kind name.namespace file:line) text``. Istio's codes (``IST0xxx``) are reused,
with istioctl's templates, where meshsim's check is Istio's; meshsim's own resilience checks,
which no linter has, use ``MSH01xx`` (docs/analyze.md lists every code with an example).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

DOCS = "docs/analyze.md"
ISTIO_DOCS = "https://istio.io/latest/docs/reference/config/analysis"


class Level(IntEnum):
    """istioctl's ``diag.Level``: a higher value is worse."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def text(self) -> str:
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Level:
        """``Error``, ``warning``, ``INFO`` (istioctl accepts any case)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not a level (Info, Warning, Error)") from None


@dataclass(frozen=True)
class MessageType:
    """A code, its name, level and text template (``%s`` / ``%q`` / ``%v`` as Go writes)."""

    code: str
    name: str
    level: Level
    template: str
    dynamic: bool = False  # a short simulation can confirm it (``--confirm``)

    def text(self, *args: object) -> str:
        values = iter(args)

        def one(verb: re.Match[str]) -> str:
            if verb.group(1) == "%":
                return "%"
            value = str(next(values))
            return _quote(value) if verb.group(1) == "q" else value

        return _VERB.sub(one, self.template)


_VERB = re.compile(r"%([%sqvdt])")


def _quote(text: str) -> str:
    """Go's ``%q``: a double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Resource:
    """What a finding is about, as istioctl names it: kind, name, namespace and origin."""

    kind: str
    name: str
    namespace: str = "default"
    file: str = ""
    line: int | None = None

    def friendly(self) -> str:
        return f"{self.kind} {self.name}.{self.namespace}"

    def reference(self) -> str:
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class Probe:
    """How ``--confirm`` can provoke a dynamic finding: take ``service`` down; a single hop
    alone would send it ``single`` attempts per request."""

    service: str
    single: int = 1


@dataclass(frozen=True)
class Finding:
    """One message: a type, the resource it is about, and its rendered text."""

    type: MessageType
    resource: Resource
    message: str
    confirmation: str = ""  # what ``--confirm``'s simulation showed, when it ran
    probe: Probe | None = field(default=None, compare=False)

    @property
    def level(self) -> Level:
        return self.type.level

    def format(self) -> str:
        reference = self.resource.reference()
        origin = self.resource.friendly() + (f" {reference}" if reference else "")
        text = f"{self.level.text} [{self.type.code}] ({origin}) {self.message}"
        return f"{text} [{self.confirmation}]" if self.confirmation else text

    def unstructured(self) -> dict[str, Any]:
        """istioctl's ``-o json|yaml`` fields, plus ``confirmation`` when one ran."""
        out: dict[str, Any] = {
            "code": self.type.code,
            "level": self.level.text,
            "origin": self.resource.friendly(),
        }
        if self.resource.reference():
            out["reference"] = self.resource.reference()
        out["message"] = self.message
        out["documentationUrl"] = documentation(self.type.code)
        if self.confirmation:
            out["confirmation"] = self.confirmation
        return out


def documentation(code: str) -> str:
    if code.startswith("IST"):
        return f"{ISTIO_DOCS}/{code.lower()}/"
    return f"{DOCS}#{code.lower()}"


def finding(kind: MessageType, resource: Resource, *args: object) -> Finding:
    return Finding(kind, resource, kind.text(*args))


# -- Istio's codes, with istioctl's templates (pkg/config/analysis/msg/messages.yaml) ------------
ReferencedResourceNotFound = MessageType(
    "IST0101", "ReferencedResourceNotFound", Level.ERROR, "Referenced %s not found: %q")
NoMatchingWorkloadsFound = MessageType(
    "IST0127", "NoMatchingWorkloadsFound", Level.WARNING,
    "No matching workloads for this resource with the following labels: %s")
ConflictingMeshGatewayVirtualServiceHosts = MessageType(
    "IST0109", "ConflictingMeshGatewayVirtualServiceHosts", Level.ERROR,
    "The VirtualServices %s associated with mesh gateway define the same host %s which can lead "
    "to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a "
    "single resource.")
VirtualServiceUnreachableRule = MessageType(
    "IST0130", "VirtualServiceUnreachableRule", Level.WARNING,
    "VirtualService rule %v not used (%s).")
VirtualServiceIneffectiveMatch = MessageType(
    "IST0131", "VirtualServiceIneffectiveMatch", Level.INFO,
    "VirtualService rule %v match %v is not used (duplicate/overlapping match in rule %v).")
VirtualServiceHostNotFoundInGateway = MessageType(
    "IST0132", "VirtualServiceHostNotFoundInGateway", Level.WARNING,
    "one or more host %v defined in VirtualService %s not found in Gateway %s.")
DestinationRuleSubsetNotSelectPods = MessageType(
    "IST0173", "DestinationRuleSubsetNotSelectPods", Level.ERROR,
    "The Subset %s defined in the DestinationRule does not select any pods, which may lead to "
    "503 UH (NoHealthyUpstream).")
UnknownDestinationRuleHost = MessageType(
    "IST0174", "UnknownDestinationRuleHost", Level.WARNING,
    "The host %s defined in the DestinationRule does not match any services in the mesh.")

# -- meshsim's own: resilience findings (docs/analyze.md) ---------------------------------------
RetryAmplification = MessageType(
    "MSH0101", "RetryAmplification", Level.WARNING,
    "Retries at %v hops multiply on the path %s: one request can become up to %v attempts at "
    "%s (%s).", dynamic=True)
PerTryTimeoutsExceedRouteTimeout = MessageType(
    "MSH0102", "PerTryTimeoutsExceedRouteTimeout", Level.WARNING,
    "Route %s to %s: %v tries x per-try timeout %s = %s is longer than its timeout %s, so the "
    "timeout cuts the retries short (at most %v tries time out in full).")
InnerTimeoutLongerThanCaller = MessageType(
    "MSH0103", "InnerTimeoutLongerThanCaller", Level.WARNING,
    "Route %s to %s may take up to %s, but its caller %s is given only %s: the caller is "
    "abandoned first and the inner request works on for nobody.")
RetryOnNonIdempotent = MessageType(
    "MSH0104", "RetryOnNonIdempotent", Level.WARNING,
    "Route %s to %s retries %s requests (sent by %s) on %s: a retried %s may run twice.")
DeepRetryChainUnprotected = MessageType(
    "MSH0105", "DeepRetryChainUnprotected", Level.WARNING,
    "%s is the deepest of %v retrying hops on the path %s and its callers have neither outlier "
    "detection nor a retry budget for it: when it fails, every hop above retries into it.",
    dynamic=True)
MirrorIntoProduction = MessageType(
    "MSH0106", "MirrorIntoProduction", Level.WARNING,
    "Route %s mirrors %v%% of its traffic into %s, which also serves production callers (%s): "
    "the shadow load shares its pods and can slow them down.")
LinkerdRetriesWithoutBudget = MessageType(
    "MSH0107", "LinkerdRetriesWithoutBudget", Level.WARNING,
    "Route %s to %s retries up to %v times with no retry budget (%s): when %s fails, every "
    "request is sent %v times.")
LocalityFailoverWithoutOutlierDetection = MessageType(
    "MSH0108", "LocalityFailoverWithoutOutlierDetection", Level.WARNING,
    "localityLbSetting for %s sets %s but the DestinationRule has no outlierDetection: pilot "
    "sends every endpoint in one priority, so traffic never fails over (Istio: outlier "
    "detection \"is required in order for failover to function properly\").")
MaxEjectionTooLowForFailover = MessageType(
    "MSH0109", "MaxEjectionTooLowForFailover", Level.WARNING,
    "maxEjectionPercent %v%% for %s counts hosts in every locality: of its %v hosts at most %v "
    "can be ejected, but %s's own locality %s has %v (its traffic spills only after %v are "
    "ejected, and moves away entirely after %v): set maxEjectionPercent to at least %v.")
RemoteNetworkBehindOneGatewayHost = MessageType(
    "MSH0110", "RemoteNetworkBehindOneGatewayHost", Level.WARNING,
    "%s reaches %v pods of %s on network %s (locality %s) through one east-west gateway host: "
    "outlier detection charges every remote pod's 5xx to that host and can eject the whole "
    "remote locality at once (istio/istio#52435).")
DistributeWeightsNotHundred = MessageType(
    "MSH0111", "DistributeWeightsNotHundred", Level.WARNING,
    "localityLbSetting.distribute[%v] for %s from %q gives weights summing to %v, not 100.")

ALL: tuple[MessageType, ...] = (
    ReferencedResourceNotFound, NoMatchingWorkloadsFound,
    ConflictingMeshGatewayVirtualServiceHosts,
    VirtualServiceUnreachableRule, VirtualServiceIneffectiveMatch,
    VirtualServiceHostNotFoundInGateway, DestinationRuleSubsetNotSelectPods,
    UnknownDestinationRuleHost, RetryAmplification, PerTryTimeoutsExceedRouteTimeout,
    InnerTimeoutLongerThanCaller, RetryOnNonIdempotent, DeepRetryChainUnprotected,
    MirrorIntoProduction, LinkerdRetriesWithoutBudget,
    LocalityFailoverWithoutOutlierDetection, MaxEjectionTooLowForFailover,
    RemoteNetworkBehindOneGatewayHost, DistributeWeightsNotHundred,
)
