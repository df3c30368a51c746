"""Passive health checking: Envoy's outlier detector for one cluster of one client proxy.

Follows ``source/common/upstream/outlier_detection_impl.cc`` (``DetectorHostMonitorImpl``,
``DetectorImpl::ejectHost``, ``onIntervalTimer``, ``processSuccessRateEjections``) and
reference/envoy-istio.md §1. Consecutive detectors eject inline (Envoy posts to the main
thread, which its tests and meshsim run immediately); statistical detectors, un-ejection and
backoff decay happen only on :meth:`OutlierDetector.tick`, which the caller must invoke every
``spec.interval`` seconds (Envoy's own periodic timer, armed at creation).

The detector and its per-host monitors are C types in the compiled build (outlier.pxd); the
detector derives from :class:`~meshsim.sim.generic.GenericBase` and a ``Generic[H]`` that only
type checkers see.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Literal, TypeVar

from meshsim.model.clusters import OutlierDetection
from meshsim.sim.generic import Generic, GenericBase

H = TypeVar("H", bound=Hashable)

LocalKind = Literal["connect_failed", "timeout", "connect_success"]
Origin = Literal["external", "local"]

# Envoy's OutlierEjectionType names, as used in its stats and event log.
CONSECUTIVE_5XX = "consecutive_5xx"
CONSECUTIVE_GATEWAY_FAILURE = "consecutive_gateway_failure"
CONSECUTIVE_LOCAL_ORIGIN_FAILURE = "consecutive_local_origin_failure"
SUCCESS_RATE = "success_rate"
SUCCESS_RATE_LOCAL_ORIGIN = "local_origin_success_rate"
FAILURE_PERCENTAGE = "failure_percentage"
FAILURE_PERCENTAGE_LOCAL_ORIGIN = "local_origin_failure_percentage"

_TYPES = (
    CONSECUTIVE_5XX,
    CONSECUTIVE_GATEWAY_FAILURE,
    CONSECUTIVE_LOCAL_ORIGIN_FAILURE,
    SUCCESS_RATE,
    SUCCESS_RATE_LOCAL_ORIGIN,
    FAILURE_PERCENTAGE,
    FAILURE_PERCENTAGE_LOCAL_ORIGIN,
)


def _zero_stats() -> dict[str, int]:
    stats = {
        "ejections_active": 0,
        "ejections_overflow": 0,
        "ejections_enforced_total": 0,
        # Deprecated Envoy counters, kept because old dashboards and tests read them.
        "ejections_total": 0,
        "ejections_consecutive_5xx": 0,
        "ejections_success_rate": 0,
    }
    for t in _TYPES:
        stats[f"ejections_detected_{t}"] = 0
        stats[f"ejections_enforced_{t}"] = 0
    return stats


# A detector's counters at creation, built once: clusters are created while the run goes on.
_ZERO_STATS = _zero_stats()
# The counters' names per ejection type, built once rather than formatted per failure.
_DETECTED = {t: f"ejections_detected_{t}" for t in _TYPES}
_ENFORCED = {t: f"ejections_enforced_{t}" for t in _TYPES}

_EPS_MS = 1e-6  # float slack when comparing elapsed seconds against integer milliseconds


def _ms(seconds: float) -> int:
    """Envoy stores every duration of this detector as integer milliseconds."""
    return round(seconds * 1000)


class _Bucket:
    def __init__(self) -> None:
        self.success = 0
        self.total = 0


class _SuccessRateMonitor:
    """Two buckets swapped at every tick, so statistics cover exactly the previous interval."""

    def __init__(self) -> None:
        self.current = _Bucket()
        self.backup = _Bucket()
        self.success_rate = -1.0  # last computed per-host rate, -1 = none (admin /clusters)

    def swap(self) -> None:
        self.backup.success = 0
        self.backup.total = 0
        self.current, self.backup = self.backup, self.current

    def rate_and_volume(self) -> tuple[float, int] | None:
        if not self.backup.total:
            return None
        return self.backup.success * 100.0 / self.backup.total, self.backup.total


class _HostMonitor:
    def __init__(self) -> None:
        self.consecutive_5xx = 0
        self.consecutive_gateway_failure = 0
        self.consecutive_local_origin_failure = 0
        self.external = _SuccessRateMonitor()
        self.local = _SuccessRateMonitor()
        self.backoff = 0  # Envoy's ejectTimeBackoff multiplier k
        self.num_ejections = 0
        self.last_ejection: float | None = None
        self.last_unejection: float | None = None
        self.jitter_ms = 0


class OutlierDetector(GenericBase, Generic[H]):
    """Envoy's ``DetectorImpl`` plus one ``DetectorHostMonitorImpl`` per host.

    ``rand`` stands for both Envoy generators involved: the runtime's (enforcement rolls
    ``rand() % 100 < enforcing``, drawn only when 0 < enforcing < 100, as
    ``SnapshotImpl::featureEnabled`` does) and the detector's (ejection jitter
    ``rand() % (jitter_ms + 1)``, drawn on every enforced ejection).
    """

    def __init__(
        self,
        spec: OutlierDetection,
        hosts: Sequence[H],
        *,
        rand: Callable[[], int],
        on_eject: Callable[[H, str, float], None] | None = None,
        on_uneject: Callable[[H, float], None] | None = None,
    ) -> None:
        self.spec = spec
        # Read on every locally originated event (and by the cluster on every answer, which
        # counts as a successful connect only in split mode); the spec is frozen.
        self.split_local_origin = spec.split_external_local_origin_errors
        # What every failure is compared with (C fields in the compiled build, where the spec
        # is a Python object): the consecutive thresholds and the ejection cap's terms.
        self._consecutive_5xx = spec.consecutive_5xx
        self._consecutive_gateway = spec.consecutive_gateway_failure
        self._consecutive_local = spec.consecutive_local_origin_failure
        self._cap = min(100.0, spec.max_ejection_percent)
        self._legacy_cap = spec.legacy_max_ejection_rule
        self._always_one = spec.always_eject_one_host
        self._rand = rand
        self._on_eject = on_eject
        self._on_uneject = on_uneject
        self._monitors: dict[H, _HostMonitor] = {}
        self.ejected: set[H] = set()
        self.stats: dict[str, int] = dict(_ZERO_STATS)
        # Cluster-wide success-rate mean and ejection threshold; -1 when not computed.
        self._sr_nums: dict[Origin, tuple[float, float]] = {
            "external": (-1.0, -1.0),
            "local": (-1.0, -1.0),
        }
        self._base_ms = _ms(spec.base_ejection_time)
        # Envoy: max_ejection_time defaults to max(300 s, base); an explicit max < base is a
        # config error. The spec cannot say "unset", so the larger of the two is used.
        self._max_ms = max(_ms(spec.max_ejection_time), self._base_ms)
        self._jitter_ms = _ms(spec.max_ejection_time_jitter)
        self._interval_ms = _ms(spec.interval)
        self.set_hosts(hosts)

    # -- membership -------------------------------------------------------------------------

    def set_hosts(self, hosts: Iterable[H]) -> None:
        """Membership change: new hosts get fresh monitors; removed ejected ones leave the gauge."""
        wanted = list(dict.fromkeys(hosts))
        keep = set(wanted)
        for host in list(self._monitors):
            if host not in keep:
                del self._monitors[host]
                if host in self.ejected:
                    self.ejected.discard(host)
                    self.stats["ejections_active"] -= 1
        for host in wanted:
            if host not in self._monitors:
                self._monitors[host] = _HostMonitor()

    @property
    def hosts(self) -> list[H]:
        return list(self._monitors)

    def is_ejected(self, host: H) -> bool:
        return host in self.ejected

    def ejections(self, host: H) -> tuple[int, float | None]:
        """How often ``host`` was ejected and when last (admin ``/clusters``; read-only)."""
        monitor = self._monitors.get(host)
        return (0, None) if monitor is None else (monitor.num_ejections, monitor.last_ejection)

    # -- results from the router ------------------------------------------------------------

    def report_status(self, host: H, status: int, now: float) -> None:
        """An HTTP status from the upstream (``putHttpResponseCode``)."""
        mon = self._monitors.get(host)
        if mon is None:
            return
        mon.external.current.total += 1
        if 500 <= status <= 599:
            if status in (502, 503, 504):
                mon.consecutive_gateway_failure += 1
                if mon.consecutive_gateway_failure == self._consecutive_gateway:
                    self._on_consecutive(host, CONSECUTIVE_GATEWAY_FAILURE, now)
            else:
                mon.consecutive_gateway_failure = 0
            mon.consecutive_5xx += 1
            if mon.consecutive_5xx == self._consecutive_5xx:
                self._on_consecutive(host, CONSECUTIVE_5XX, now)
        else:
            mon.external.current.success += 1
            mon.consecutive_5xx = 0
            mon.consecutive_gateway_failure = 0

    def report_local(self, host: H, kind: LocalKind, now: float) -> None:
        """A locally originated event: connect failure, timeout, or successful connect.

        Non-split mode maps them to HTTP codes (503, 504, nothing); split mode feeds the
        local-origin counter and success-rate monitor (``putResultWithLocalExternalSplit``).
        """
        if kind == "timeout":
            status = 504
        elif kind == "connect_failed":
            status = 503
        elif kind == "connect_success":
            status = 0  # no HTTP code: nothing to report outside split mode
        else:
            raise ValueError(f"unknown local-origin event {kind!r}")
        if not self.split_local_origin:
            if status:
                self.report_status(host, status, now)
            return
        mon = self._monitors.get(host)
        if mon is None:
            return
        mon.local.current.total += 1
        if not status:
            mon.local.current.success += 1
            mon.consecutive_local_origin_failure = 0
            return
        mon.consecutive_local_origin_failure += 1
        if mon.consecutive_local_origin_failure == self._consecutive_local:
            self._on_consecutive(host, CONSECUTIVE_LOCAL_ORIGIN_FAILURE, now)

    # -- interval timer ---------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Envoy's ``onIntervalTimer``: un-eject, swap buckets, statistical detectors, decay."""
        for host, mon in self._monitors.items():
            self._check_uneject(host, mon, now)
            mon.external.swap()
            mon.local.swap()
            mon.external.success_rate = -1.0
            mon.local.success_rate = -1.0
        self._process_success_rate("external", now)
        self._process_success_rate("local", now)
        for host, mon in self._monitors.items():
            if host in self.ejected or mon.last_unejection is None:
                continue
            if (now - mon.last_unejection) * 1000 + _EPS_MS >= self._interval_ms and mon.backoff:
                mon.backoff -= 1

    # -- introspection ----------------------------------------------------------------------

    def success_rate_average(self, origin: Origin = "external") -> float:
        return self._sr_nums[origin][0]

    def success_rate_ejection_threshold(self, origin: Origin = "external") -> float:
        return self._sr_nums[origin][1]

    def host_success_rate(self, host: H, origin: Origin = "external") -> float:
        mon = self._monitors[host]
        return (mon.external if origin == "external" else mon.local).success_rate

    def backoff_multiplier(self, host: H) -> int:
        return self._monitors[host].backoff

    def num_ejections(self, host: H) -> int:
        return self._monitors[host].num_ejections

    # -- internals --------------------------------------------------------------------------

    def _on_consecutive(self, host: H, kind: str, now: float) -> None:
        # onConsecutiveErrorWorker: an already-ejected host is ignored, counter left as is.
        if host in self.ejected:
            return
        self.stats[_DETECTED[kind]] += 1
        self._eject(host, kind, now)
        mon = self._monitors[host]
        if kind == CONSECUTIVE_5XX:
            self.stats["ejections_consecutive_5xx"] += 1
            mon.consecutive_5xx = 0
        elif kind == CONSECUTIVE_GATEWAY_FAILURE:
            mon.consecutive_gateway_failure = 0
        else:
            mon.consecutive_local_origin_failure = 0

    def _cap_allows(self) -> bool:
        total = len(self._monitors)
        active = self.stats["ejections_active"]
        cap = self._cap
        if self._legacy_cap:
            # Envoy < 1.27: pre-ejection share, strict comparison (so the first ejection
            # passes whenever the cap is above 0).
            return 100.0 * active / total < cap
        allowed = 100.0 * (active + 1) / total <= cap
        if self._always_one:
            allowed = allowed or active == 0
        return allowed

    def _enforcing(self, kind: str) -> int:
        s = self.spec
        return {
            CONSECUTIVE_5XX: s.enforcing_consecutive_5xx,
            CONSECUTIVE_GATEWAY_FAILURE: s.enforcing_consecutive_gateway_failure,
            CONSECUTIVE_LOCAL_ORIGIN_FAILURE: s.enforcing_consecutive_local_origin_failure,
            SUCCESS_RATE: s.enforcing_success_rate,
            SUCCESS_RATE_LOCAL_ORIGIN: s.enforcing_local_origin_success_rate,
            FAILURE_PERCENTAGE: s.enforcing_failure_percentage,
            FAILURE_PERCENTAGE_LOCAL_ORIGIN: s.enforcing_failure_percentage_local_origin,
        }[kind]

    def _roll(self, percent: int) -> bool:
        cutoff = min(int(percent), 100)
        if cutoff <= 0:
            return False
        if cutoff >= 100:
            return True
        return self._rand() % 100 < cutoff

    def _eject(self, host: H, kind: str, now: float) -> None:
        """``ejectHost``: cap first (overflow), then the enforcement roll, then eject.

        Deviation: Envoy can reach here for a host the success-rate pass of the same tick just
        ejected (failure-percentage pass, both enforced); it would then count it twice in
        ``ejections_active`` (only an ASSERT guards it). meshsim skips that second ejection.
        """
        if host in self.ejected:
            return
        if not self._cap_allows():
            self.stats["ejections_overflow"] += 1
            return
        if kind in (CONSECUTIVE_5XX, SUCCESS_RATE):
            self.stats["ejections_total"] += 1
        if not self._roll(self._enforcing(kind)):
            return
        self.stats["ejections_active"] += 1
        self.stats["ejections_enforced_total"] += 1
        self.stats[_ENFORCED[kind]] += 1
        mon = self._monitors[host]
        self.ejected.add(host)
        mon.num_ejections += 1
        mon.last_ejection = now
        mon.jitter_ms = self._rand() % (self._jitter_ms + 1)
        if mon.backoff * self._base_ms < self._max_ms + self._base_ms:
            mon.backoff += 1
        if self._on_eject is not None:
            self._on_eject(host, kind, now)

    def _check_uneject(self, host: H, mon: _HostMonitor, now: float) -> None:
        if host not in self.ejected or mon.last_ejection is None:
            return
        out_ms = min(self._base_ms * mon.backoff, self._max_ms) + mon.jitter_ms
        if out_ms <= (now - mon.last_ejection) * 1000 + _EPS_MS:
            self._uneject(host, mon, now)

    def _uneject(self, host: H, mon: _HostMonitor, now: float) -> None:
        self.ejected.discard(host)
        self.stats["ejections_active"] -= 1
        mon.consecutive_5xx = 0
        mon.consecutive_gateway_failure = 0
        mon.consecutive_local_origin_failure = 0
        mon.last_unejection = now
        if self._on_uneject is not None:
            self._on_uneject(host, now)

    def _process_success_rate(self, origin: Origin, now: float) -> None:
        s = self.spec
        self._sr_nums[origin] = (-1.0, -1.0)
        n_hosts = len(self._monitors)
        if n_hosts < s.success_rate_minimum_hosts and n_hosts < s.failure_percentage_minimum_hosts:
            return
        sr_hosts: list[tuple[H, float]] = []
        fp_hosts: list[tuple[H, float]] = []
        sr_sum = 0.0
        for host, mon in self._monitors.items():
            if host in self.ejected:
                continue
            monitor = mon.external if origin == "external" else mon.local
            rv = monitor.rate_and_volume()
            if rv is None:
                continue
            rate, volume = rv
            if volume >= min(s.success_rate_request_volume, s.failure_percentage_request_volume):
                monitor.success_rate = rate
            if volume >= s.success_rate_request_volume:
                sr_hosts.append((host, rate))
                sr_sum += rate
            if volume >= s.failure_percentage_request_volume:
                fp_hosts.append((host, rate))

        if sr_hosts and len(sr_hosts) >= s.success_rate_minimum_hosts:
            mean = sr_sum / len(sr_hosts)
            variance = sum((rate - mean) ** 2 for _, rate in sr_hosts) / len(sr_hosts)
            threshold = mean - (s.success_rate_stdev_factor / 1000.0) * variance**0.5
            self._sr_nums[origin] = (mean, threshold)
            kind = SUCCESS_RATE if origin == "external" else SUCCESS_RATE_LOCAL_ORIGIN
            for host, rate in sr_hosts:
                if rate < threshold:
                    self.stats["ejections_success_rate"] += 1
                    self.stats[_DETECTED[kind]] += 1
                    self._eject(host, kind, now)

        if fp_hosts and len(fp_hosts) >= s.failure_percentage_minimum_hosts:
            kind = FAILURE_PERCENTAGE if origin == "external" else FAILURE_PERCENTAGE_LOCAL_ORIGIN
            for host, rate in fp_hosts:
                if 100.0 - rate >= s.failure_percentage_threshold:
                    self.stats[_DETECTED[kind]] += 1
                    self._eject(host, kind, now)
