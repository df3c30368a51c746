"""The projects' published proxy figures as named cost profiles (``reference/mesh-cost.md``).

Each profile is one release's figures from one study, per proxy instance and per request,
with mTLS on (every setup below measured with mTLS). Rows of different studies are not
comparable (mesh-cost.md's caveat), so where a project publishes no per-request CPU figure
(Linkerd) the profile takes the *ratio* to Istio measured in the same third-party or vendor
study, and says so in ``sources``. ``[derived]`` marks arithmetic on published figures.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from meshsim.model.cost import ProxyCost

MB = 1e6
MS = 1e-3

# Envoy with mTLS vs plaintext, no filters (istio/istio #22416; istio/tools PR #618): +12 % CPU,
# +0.23 ms p50 at 8 connections over the client and server proxies, so 0.115 ms per proxy.
ENVOY_MTLS_CPU = 0.12
ENVOY_MTLS_LATENCY = 0.115 * MS
# A new connection through ztunnel adds ~0.5 ms (ztunnel #2019); no figure for Envoy or
# linkerd2-proxy, which get the same value as an approximation.
HANDSHAKE = 0.5 * MS
# iperf ceilings through one proxy, cross-node (istio/istio #50373): Envoy 9.27 Gb/s, ztunnel
# 12.21 Gb/s; one core busy moving bytes at that rate [derived]: seconds of CPU per byte.
ENVOY_PER_BYTE = 8 / 9.27e9
ZTUNNEL_PER_BYTE = 8 / 12.21e9


def _envoy(cpu_ms: float, memory_mb: float, latency_ms: float) -> ProxyCost:
    """An Istio sidecar: 2 workers (Helm's CPU limit 2000m sets concurrency 2) [S16]."""
    return ProxyCost(cpu_per_request=cpu_ms * MS, latency=latency_ms * MS, memory=memory_mb * MB,
                     workers=2, cpu_limit=2.0, cpu_per_byte=ENVOY_PER_BYTE,
                     handshake=HANDSHAKE)


def _linkerd(cpu_ms: float, memory_mb: float) -> ProxyCost:
    """linkerd2-proxy: 1 worker, no CPU limit by default [S27]; no per-hop latency figure is
    published (Buoyant: "<1 ms at the median" [S18]), so meshsim's Linkerd default 0.15 ms."""
    return ProxyCost(cpu_per_request=cpu_ms * MS, latency=0.15 * MS, memory=memory_mb * MB,
                     workers=1, cpu_per_byte=ENVOY_PER_BYTE, handshake=HANDSHAKE)


# Per-hop latency: half the published client+server p90 [derived].
SIDECARS: dict[str, tuple[ProxyCost, str]] = {
    "istio-1.5": (_envoy(0.5, 50, 2.8 / 2), "Istio 1.5 perf page: 0.5 vCPU/1k rps, 50 MB, "
                  "+2.8 ms p90 client+server [S5, S7]"),
    "istio-1.9": (_envoy(0.35, 40, 2.65 / 2), "Istio 1.9-1.16 perf page: 0.35 vCPU/1k rps, "
                  "40 MB, +2.65 ms p90 [S8, S9]"),
    "istio-1.19": (_envoy(0.5, 50, 1.31 / 2), "Istio 1.19 perf page: 0.5 vCPU/1k rps, 50 MB, "
                   "+1.31 ms p90 [S11]"),
    "istio-1.20": (_envoy(0.5, 50, 0.228 / 2), "Istio 1.20 perf page: 0.5 vCPU/1k rps, 50 MB, "
                   "+0.228 ms p90 [S12]"),
    "istio-1.24": (_envoy(0.20, 60, 0.228 / 2), "Istio 1.24 perf page: sidecar 0.20 vCPU/1k "
                   "rps, 60 MB [S14]; 1.24 publishes latency only as charts, so the 1.20 "
                   "per-hop p90 0.114 ms [S12, derived]"),
    # Linkerd: CPU per request = Istio's figure of that era x Linkerd/Istio in one study.
    "linkerd-2.3": (_linkerd(0.6 * 1618 / 1723, 5.7), "Kinvolk 2019: data plane 1618 vs "
                    "Istio 1.1 1723 millicores, 5.7 MB/proxy [S17]; x Istio 1.1's 0.6 ms "
                    "[S2, derived]"),
    "linkerd-2.10": (_linkerd(0.35 * 10 / 88, 17.8), "Buoyant May 2021 (vendor): max proxy "
                     "CPU 10 ms vs Istio 1.10 88 ms, 17.8 MB [S18]; x Istio 0.35 ms [S9, "
                     "derived]"),
    "linkerd-2.11": (_linkerd(0.35 * 36 / 67, 26.3), "Buoyant Nov 2021 (vendor): proxy CPU "
                     "36 ms vs Istio 1.12 67 ms, 26.3 MB [S19]; x Istio 0.35 ms [S9, derived]"),
}
# Ambient (Istio 1.24 page [S14]): per instance. ztunnel's per-hop latency from the 1.22 page
# (two ztunnels 0.17 ms p90 [S13]); the waypoint has no published latency: Envoy's per hop.
ZTUNNEL = ProxyCost(cpu_per_request=0.06 * MS, latency=0.085 * MS, memory=12 * MB, workers=2,
                    cpu_per_byte=ZTUNNEL_PER_BYTE, handshake=HANDSHAKE)
WAYPOINT = ProxyCost(cpu_per_request=0.25 * MS, latency=0.114 * MS, memory=60 * MB, workers=2,
                     cpu_limit=2.0, cpu_per_byte=ENVOY_PER_BYTE, handshake=HANDSHAKE)
AMBIENT_SOURCE = ("Istio 1.24 perf page: ztunnel 0.06 vCPU/1k rps 12 MB, waypoint 0.25 / "
                  "60 MB [S14]; ztunnel per hop 0.085 ms p90 from 1.22 [S13, derived]")
DEFAULTS = {"istio": "istio-1.24", "linkerd": "linkerd-2.11"}
PROFILES = tuple(SIDECARS)


def profile_for(mesh: str, version: str | None) -> str:
    """The newest profile of ``mesh`` not newer than ``version`` (default: the latest)."""
    if version is None:
        return DEFAULTS[mesh]
    wanted = _release(version)
    best = None
    for name in SIDECARS:
        kind, release = name.split("-", 1)
        if kind == mesh and _release(release) <= wanted and (
                best is None or _release(release) > _release(best.split("-", 1)[1])):
            best = name
    if best is None:  # older than every profile: the oldest one
        best = min((n for n in SIDECARS if n.startswith(mesh)),
                   key=lambda n: _release(n.split("-", 1)[1]))
    return best


def _release(text: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text)[:2]
    return tuple(int(p) for p in parts) if parts else (0,)


def with_mtls(cost: ProxyCost, mtls: bool, *, envoy: bool) -> ProxyCost:
    """Published figures include mTLS; plaintext Envoy drops its mTLS share (Linkerd cannot:
    mTLS is always on between meshed pods)."""
    if mtls or not envoy:
        return cost
    return replace(cost, cpu_per_request=cost.cpu_per_request / (1 + ENVOY_MTLS_CPU),
                   latency=max(0.0, cost.latency - ENVOY_MTLS_LATENCY))


def workers_for(cpu_limit: float | None, default: int) -> int:
    """Istio sets concurrency from the CPU limit (rounded up), and so does Linkerd's
    ``maximumCPURatio`` / limit [S16, S27]; no limit: the default."""
    return default if cpu_limit is None else max(1, math.ceil(cpu_limit))
