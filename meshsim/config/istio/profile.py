"""Istio release → the behaviour switches that changed between releases (envoy-istio.md §13).

Only the minor release matters; ``None`` means the newest behaviour meshsim knows. Each switch
names the upstream change it follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meshsim.errors import Location, ScenarioError

NEWEST = (1, 31)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


@dataclass(frozen=True)
class IstioProfile:
    """What one Istio release emits where releases differ."""

    major: int
    minor: int
    # retry/retry.go defaultPolicy: [503] unless EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY (1.24+).
    default_retriable_status_codes: frozenset[int]
    # DestinationRule trafficPolicy.retryBudget exists from 1.27 (istio/api#3512).
    retry_budget: bool
    # cluster_traffic_policy.go applyRetryBudget: the default was Percent{0.2} (= 0.2 %, Envoy's
    # Percent is 0–100) until istio/istio#59505 (March 2026, 1.30) made it 20.
    retry_budget_default_percent: float
    # VirtualService retries.backoff and retries.retryIgnorePreviousHosts (1.26).
    retry_backoff: bool
    retry_ignore_previous_hosts: bool
    # retry.go ConvertPolicy(hashPolicy): consistent-hash routes drop previous_hosts (1.23).
    consistent_hash_skips_previous_hosts: bool
    # Istio < 1.20 bundles Envoy < 1.28: first ejection always allowed, pre-ejection percentage.
    legacy_max_ejection_rule: bool
    # Weights need not sum to 100 from 1.15 (validation only rejects a zero total).
    weights_any_sum: bool
    # DISABLE_SHADOW_HOST_SUFFIX defaults to true from 1.28: before, mirrors get "-shadow".
    shadow_host_suffix: bool
    # BuildDefaultHTTPInboundRoute: inbound reset-before-request retries from 1.24.
    inbound_retries: bool

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, minor: int) -> bool:
        return (self.major, self.minor) >= (1, minor)


def profile_for(version: str | None) -> IstioProfile:
    """The profile of Istio ``version`` (``"1.22"``, ``"1.24.3"``); ``None`` = the newest."""
    major, minor = NEWEST if version is None else _parse(version)

    def since(m: int) -> bool:
        return (major, minor) >= (1, m)

    return IstioProfile(
        major=major,
        minor=minor,
        default_retriable_status_codes=frozenset() if since(24) else frozenset({503}),
        retry_budget=since(27),
        retry_budget_default_percent=20.0 if since(30) else 0.2,
        retry_backoff=since(26),
        retry_ignore_previous_hosts=since(26),
        consistent_hash_skips_previous_hosts=since(23),
        legacy_max_ejection_rule=not since(20),
        weights_any_sum=since(15),
        shadow_host_suffix=not since(28),
        inbound_retries=since(24),
    )


def _parse(version: str) -> tuple[int, int]:
    match = _VERSION.match(str(version).strip())
    if match is None or int(match.group(1)) != 1:
        raise ScenarioError(
            f"meshVersion {version!r} is not an Istio release like '1.24' or '1.22.3'",
            Location(path="spec.meshVersion"),
        )
    return int(match.group(1)), int(match.group(2))
