"""Outlier detection against Envoy's own tests (reference/envoy-istio.md §1, §12 S1–S7).

Source of the scenarios: envoyproxy/envoy test/common/upstream/outlier_detection_impl_test.cc.
That copy predates Envoy 1.28, so every scenario not about the ejection cap sets
``max_ejection_percent=100``; the cap itself is tested under both rules.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from envoy_mocks import Pinned
from hypothesis import given, settings
from hypothesis import strategies as st

from meshsim.model.clusters import OutlierDetection
from meshsim.sim.envoy import OutlierDetector

BASE = OutlierDetection(max_ejection_percent=100)


class Events:
    """Records the eject/uneject callbacks as (what, host, detector, time)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str | None, float]] = []

    def eject(self, host: str, kind: str, now: float) -> None:
        self.log.append(("eject", host, kind, now))

    def uneject(self, host: str, now: float) -> None:
        self.log.append(("uneject", host, None, now))


def detector(
    spec: OutlierDetection = BASE, hosts: tuple[str, ...] = ("A", "B"), rand: Pinned | None = None
) -> tuple[OutlierDetector[str], Events]:
    ev = Events()
    det = OutlierDetector(
        spec, list(hosts), rand=rand or Pinned(), on_eject=ev.eject, on_uneject=ev.uneject
    )
    return det, ev


def codes(det: OutlierDetector[str], host: str, statuses: list[int], now: float) -> None:
    for s in statuses:
        det.report_status(host, s, now)


# -- S1 ------------------------------------------------------------------------------------------


def test_s1_consecutive_5xx_ejection_and_timed_return() -> None:
    det, ev = detector()
    codes(det, "A", [500, 200, 500, 500, 500, 500], 0.0)
    assert not det.is_ejected("A")  # the 200 reset the run
    det.report_status("A", 500, 0.0)
    assert det.is_ejected("A")
    assert det.ejected == {"A"}
    assert ev.log == [("eject", "A", "consecutive_5xx", 0.0)]
    assert det.stats["ejections_active"] == 1
    assert det.stats["ejections_detected_consecutive_5xx"] == 1
    assert det.stats["ejections_enforced_consecutive_5xx"] == 1
    assert det.stats["ejections_enforced_total"] == 1

    det.tick(9.999)
    assert det.is_ejected("A")
    det.tick(30.001)
    assert not det.is_ejected("A")
    assert det.stats["ejections_active"] == 0
    assert ev.log[-1] == ("uneject", "A", None, 30.001)

    codes(det, "A", [500, 500, 500, 500], 30.001)  # counters were reset on un-ejection
    assert not det.is_ejected("A")
    det.report_status("A", 500, 40.0)
    assert det.is_ejected("A")
    assert det.stats["ejections_enforced_consecutive_5xx"] == 2


def test_s1_extra_errors_while_ejected_change_nothing() -> None:
    det, ev = detector()
    codes(det, "A", [500] * 5, 0.0)
    codes(det, "A", [500] * 20, 1.0)
    assert det.stats["ejections_detected_consecutive_5xx"] == 1
    assert det.stats["ejections_overflow"] == 0
    assert len(ev.log) == 1


# -- S2 ------------------------------------------------------------------------------------------


def test_s2a_gateway_failure_first_then_5xx() -> None:
    det, ev = detector(replace(BASE, enforcing_consecutive_gateway_failure=100))
    codes(det, "A", [503, 200, 503, 503, 503, 503, 503], 0.0)
    assert det.is_ejected("A")
    assert ev.log == [("eject", "A", "consecutive_gateway_failure", 0.0)]
    assert det.stats["ejections_detected_consecutive_5xx"] == 0  # host already out
    det.tick(30.001)
    assert not det.is_ejected("A")

    codes(det, "A", [503, 503, 500, 500, 500], 40.0)  # the 500 resets the gateway run at 2
    assert det.is_ejected("A")
    assert ev.log[-1] == ("eject", "A", "consecutive_5xx", 40.0)
    s = det.stats
    assert (s["ejections_detected_consecutive_5xx"], s["ejections_enforced_consecutive_5xx"]) == (
        1,
        1,
    )
    assert (
        s["ejections_detected_consecutive_gateway_failure"],
        s["ejections_enforced_consecutive_gateway_failure"],
    ) == (1, 1)


def test_s2b_unenforced_5xx_then_gateway_ejection() -> None:
    spec = replace(BASE, enforcing_consecutive_gateway_failure=100, enforcing_consecutive_5xx=0)
    det, ev = detector(spec)
    codes(det, "A", [503, 500, 503, 503, 503], 0.0)
    assert det.stats["ejections_detected_consecutive_5xx"] == 1  # logged, not enforced
    assert det.stats["ejections_enforced_consecutive_5xx"] == 0
    assert not det.is_ejected("A")
    codes(det, "A", [503, 503], 0.0)  # fifth consecutive 503 after the 500
    assert det.is_ejected("A")
    assert ev.log == [("eject", "A", "consecutive_gateway_failure", 0.0)]
    assert det.stats["ejections_enforced_consecutive_gateway_failure"] == 1
    assert det.stats["ejections_enforced_total"] == 1


def test_s2c_connect_failures_count_as_503_for_both_detectors() -> None:
    det, ev = detector()  # Envoy defaults: gateway enforcement 0
    for _ in range(5):
        det.report_local("A", "connect_failed", 0.0)
    assert det.is_ejected("A")
    assert ev.log == [("eject", "A", "consecutive_5xx", 0.0)]
    s = det.stats
    assert s["ejections_detected_consecutive_gateway_failure"] == 1
    assert s["ejections_enforced_consecutive_gateway_failure"] == 0
    assert s["ejections_detected_consecutive_5xx"] == 1
    assert s["ejections_enforced_consecutive_5xx"] == 1


def test_non_split_timeout_is_504_and_connect_success_is_ignored() -> None:
    det, _ = detector(replace(BASE, enforcing_consecutive_gateway_failure=100))
    for _ in range(4):
        det.report_local("A", "timeout", 0.0)
    det.report_local("A", "connect_success", 0.0)  # no HTTP code: does not reset anything
    det.report_local("A", "timeout", 0.0)
    assert det.is_ejected("A")
    assert det.stats["ejections_enforced_consecutive_gateway_failure"] == 1


# -- S3 ------------------------------------------------------------------------------------------


def test_s3_not_enforcing() -> None:
    det, ev = detector(replace(BASE, enforcing_consecutive_5xx=0))
    codes(det, "A", [503] * 5, 0.0)
    assert not det.is_ejected("A")
    assert ev.log == []
    assert det.stats["ejections_detected_consecutive_5xx"] == 1
    assert det.stats["ejections_enforced_total"] == 0
    assert det.stats["ejections_active"] == 0


def test_s3_enforcement_roll_is_random_mod_100() -> None:
    rand = Pinned(49, repeat=0)  # 49 % 100 < 50 → enforced; then jitter draw
    det, _ = detector(replace(BASE, enforcing_consecutive_5xx=50), rand=rand)
    codes(det, "A", [500] * 5, 0.0)
    assert det.is_ejected("A")
    rand.set(150)  # 150 % 100 = 50, not < 50
    codes(det, "B", [500] * 5, 0.0)
    assert not det.is_ejected("B")
    assert det.stats["ejections_detected_consecutive_5xx"] == 2
    assert det.stats["ejections_enforced_consecutive_5xx"] == 1


def test_s3_overflow_legacy_first_host_rule() -> None:
    spec = replace(BASE, max_ejection_percent=1, legacy_max_ejection_rule=True)
    det, _ = detector(spec)
    codes(det, "A", [500] * 5, 0.0)
    codes(det, "B", [500] * 5, 0.0)
    assert det.ejected == {"A"}
    assert det.stats["ejections_overflow"] == 1


def test_s3_current_rule_default_10_percent_with_two_hosts_never_ejects() -> None:
    det, _ = detector(OutlierDetection())  # max_ejection_percent 10
    codes(det, "A", [500] * 5, 0.0)
    codes(det, "B", [500] * 5, 0.0)
    assert det.ejected == set()
    assert det.stats["ejections_overflow"] == 2
    assert det.stats["ejections_detected_consecutive_5xx"] == 2


def test_s3_current_rule_50_percent_ejects_one_of_two() -> None:
    det, _ = detector(replace(BASE, max_ejection_percent=50))
    codes(det, "A", [500] * 5, 0.0)
    codes(det, "B", [500] * 5, 0.0)
    assert det.ejected == {"A"}
    assert det.stats["ejections_overflow"] == 1


def test_s3_always_eject_one_host_lets_the_first_through() -> None:
    det, _ = detector(OutlierDetection(always_eject_one_host=True))
    codes(det, "A", [500] * 5, 0.0)
    codes(det, "B", [500] * 5, 0.0)
    assert det.ejected == {"A"}
    assert det.stats["ejections_overflow"] == 1


def test_s3_pre_and_post_ejection_percentage_with_three_hosts_at_50() -> None:
    hosts = ("A", "B", "C")
    legacy, _ = detector(
        replace(BASE, max_ejection_percent=50, legacy_max_ejection_rule=True), hosts
    )
    current, _ = detector(replace(BASE, max_ejection_percent=50), hosts)
    for det in (legacy, current):
        for h in hosts:
            codes(det, h, [500] * 5, 0.0)
    assert legacy.ejected == {"A", "B"}  # 0% < 50, 33% < 50: over-ejects (issue #26877)
    assert current.ejected == {"A"}  # 67% after a second ejection > 50


def test_legacy_rule_with_zero_cap_ejects_nothing() -> None:
    det, _ = detector(replace(BASE, max_ejection_percent=0, legacy_max_ejection_rule=True))
    codes(det, "A", [500] * 5, 0.0)
    assert det.ejected == set()


@settings(max_examples=200, deadline=None)
@given(
    n_hosts=st.integers(1, 12),
    cap=st.integers(0, 100),
    events=st.lists(st.tuples(st.integers(0, 11), st.sampled_from([200, 500, 503])), max_size=300),
)
def test_property_current_rule_never_exceeds_cap(
    n_hosts: int, cap: int, events: list[tuple[int, int]]
) -> None:
    hosts = tuple(f"h{i}" for i in range(n_hosts))
    det, _ = detector(replace(BASE, max_ejection_percent=cap, base_ejection_time=10.0), hosts)
    now = 0.0
    for i, (host, status) in enumerate(events):
        det.report_status(hosts[host % n_hosts], status, now)
        if i % 17 == 16:
            now += 10.0
            det.tick(now)
        assert det.stats["ejections_active"] == len(det.ejected)
        assert 100 * len(det.ejected) <= cap * n_hosts


# -- S4 ------------------------------------------------------------------------------------------


def test_s4_backoff_growth_decay_and_reset() -> None:
    spec = replace(BASE, base_ejection_time=10.0, interval=10.0)
    det, _ = detector(spec, ("A",))

    def eject(now: float) -> None:
        codes(det, "A", [500] * 5, now)
        assert det.is_ejected("A")

    eject(0.0)
    det.tick(10.0)
    assert not det.is_ejected("A")  # 10 s
    eject(10.0)
    det.tick(20.0)
    assert det.is_ejected("A")
    det.tick(30.0)
    assert not det.is_ejected("A")  # 20 s
    eject(30.0)
    for t in (40.0, 50.0):
        det.tick(t)
        assert det.is_ejected("A")
    det.tick(60.0)
    assert not det.is_ejected("A")  # 30 s
    assert det.backoff_multiplier("A") == 3
    det.tick(70.0)
    det.tick(80.0)
    assert det.backoff_multiplier("A") == 1  # two clean ticks
    eject(80.0)
    det.tick(90.0)
    assert det.is_ejected("A")
    det.tick(100.0)
    assert not det.is_ejected("A")  # 20 s
    t = 100.0
    for _ in range(51):
        t += 10.0
        det.tick(t)
    assert t == 610.0 and det.backoff_multiplier("A") == 0
    eject(610.0)
    det.tick(620.0)
    assert not det.is_ejected("A")  # back to 10 s


def _observed_lengths(max_ejection_time: float, rounds: int) -> list[float]:
    spec = replace(
        BASE, base_ejection_time=10.0, interval=10.0, max_ejection_time=max_ejection_time
    )
    det, _ = detector(spec, ("A",))
    lengths = []
    t = 0.0
    ejected_at = 0.0
    codes(det, "A", [500] * 5, t)
    while len(lengths) < rounds:
        t += 10.0
        det.tick(t)
        if not det.is_ejected("A"):
            lengths.append(t - ejected_at)
            ejected_at = t
            codes(det, "A", [500] * 5, t)
    return lengths


def test_s4_max_ejection_time_plateau() -> None:
    lengths = _observed_lengths(300.0, 40)
    assert lengths[:30] == [10.0 * k for k in range(1, 31)]
    assert lengths[30:] == [300.0] * 10


def test_s4_max_ejection_time_not_aligned_with_ticks() -> None:
    lengths = _observed_lengths(305.0, 40)
    assert lengths[:30] == [10.0 * k for k in range(1, 31)]
    assert lengths[30:] == [310.0] * 10  # 305 s, rounded up to the next 10 s tick


def test_uneject_only_on_ticks_rounds_up() -> None:
    det, _ = detector(replace(BASE, interval=10.0, base_ejection_time=30.0), ("A", "B"))
    codes(det, "A", [500] * 5, 3.0)
    det.tick(10.0)
    det.tick(20.0)
    det.tick(30.0)
    assert det.is_ejected("A")  # eligible at 33 s
    det.tick(40.0)
    assert not det.is_ejected("A")


def test_jitter_is_random_mod_jitter_plus_one_ms() -> None:
    rand = Pinned(2500, repeat=0)  # 2500 % 2001 = 499 ms of jitter
    spec = replace(BASE, base_ejection_time=10.0, max_ejection_time_jitter=2.0)
    det, _ = detector(spec, ("A",), rand)
    codes(det, "A", [500] * 5, 0.0)
    det.tick(10.498)
    assert det.is_ejected("A")
    det.tick(10.499)
    assert not det.is_ejected("A")


# -- S5, S6 --------------------------------------------------------------------------------------

FIVE = ("h0", "h1", "h2", "h3", "h4")
QUIET = replace(BASE, enforcing_consecutive_5xx=0, enforcing_consecutive_gateway_failure=0)


def test_s5_success_rate_ejection() -> None:
    det, ev = detector(QUIET, FIVE)
    for h in FIVE[:4]:
        codes(det, h, [200] * 200, 5.0)
    codes(det, "h4", [200] * 200 + [503] * 200, 5.0)
    det.tick(10.0)
    assert det.ejected == {"h4"}
    assert ev.log == [("eject", "h4", "success_rate", 10.0)]
    assert det.host_success_rate("h4") == 50.0
    assert det.success_rate_average() == pytest.approx(90.0)
    assert det.success_rate_ejection_threshold() == pytest.approx(52.0)
    assert det.stats["ejections_enforced_success_rate"] == 1
    assert det.stats["ejections_detected_success_rate"] == 1

    det.tick(19.999)
    assert det.is_ejected("h4")
    det.tick(39.999)
    assert det.is_ejected("h4")
    det.tick(50.001)
    assert not det.is_ejected("h4")

    for h in FIVE[:4]:
        codes(det, h, [200] * 50, 55.0)
    codes(det, "h4", [200] * 25 + [503] * 25, 55.0)
    det.tick(60.0)
    assert det.ejected == set()  # below the 100-request volume
    assert det.host_success_rate("h4") == 50.0  # 50 met the failure-percentage volume
    assert det.success_rate_average() == -1.0
    assert det.success_rate_ejection_threshold() == -1.0


def test_s5_statistics_cover_exactly_the_previous_interval() -> None:
    det, _ = detector(replace(QUIET, enforcing_success_rate=0), FIVE)
    for h in FIVE[:4]:
        codes(det, h, [200] * 200, 5.0)
    codes(det, "h4", [200] * 200 + [503] * 200, 5.0)
    det.tick(10.0)
    assert det.ejected == set()  # detected, not enforced (Istio forces this to 0)
    assert det.stats["ejections_detected_success_rate"] == 1
    assert det.success_rate_average() == pytest.approx(90.0)
    det.tick(20.0)  # nothing reported in (10, 20]
    assert det.success_rate_average() == -1.0
    assert det.host_success_rate("h4") == -1.0


def test_s6_failure_percentage_ejection() -> None:
    det, ev = detector(replace(QUIET, enforcing_failure_percentage=100), FIVE)
    for h in FIVE:
        codes(det, h, [200] * 50, 5.0)
    codes(det, "h3", [503] * 250, 5.0)  # 83.3 % failed
    codes(det, "h4", [503] * 300, 5.0)  # 85.7 % failed
    det.tick(10.0)
    assert det.ejected == {"h4"}
    assert ev.log == [("eject", "h4", "failure_percentage", 10.0)]
    assert det.stats["ejections_enforced_failure_percentage"] == 1
    assert det.stats["ejections_detected_failure_percentage"] == 1


def test_s6_failure_percentage_detected_but_not_enforced_by_default() -> None:
    det, _ = detector(QUIET, FIVE)
    for h in FIVE:
        codes(det, h, [200] * 50, 5.0)
    codes(det, "h4", [503] * 300, 5.0)
    det.tick(10.0)
    assert det.ejected == set()
    assert det.stats["ejections_detected_failure_percentage"] == 1


def test_statistical_detectors_need_enough_hosts() -> None:
    hosts = FIVE[:4]
    det, _ = detector(replace(QUIET, enforcing_failure_percentage=100), hosts)
    for h in hosts:
        codes(det, h, [200] * 200, 5.0)
    codes(det, "h3", [503] * 2000, 5.0)
    det.tick(10.0)
    assert det.ejected == set()


# -- S7 ------------------------------------------------------------------------------------------


def test_s7_split_local_origin_mode() -> None:
    det, ev = detector(replace(BASE, split_external_local_origin_errors=True), ("A", "B"))
    for _ in range(5):
        det.report_local("A", "connect_failed", 0.0)
    assert det.is_ejected("A")
    assert ev.log == [("eject", "A", "consecutive_local_origin_failure", 0.0)]
    for _ in range(5):
        det.report_local("A", "connect_failed", 0.0)
    assert det.stats["ejections_detected_consecutive_local_origin_failure"] == 1
    assert det.stats["ejections_detected_consecutive_5xx"] == 0  # not an HTTP code here

    det.tick(30.001)
    assert not det.is_ejected("A")
    for _ in range(5):
        det.report_local("A", "connect_failed", 30.001)
    assert det.is_ejected("A")
    det.tick(40.0)
    assert det.is_ejected("A")
    det.tick(90.0)
    assert det.is_ejected("A")  # second ejection lasts 60 s
    det.tick(90.002)
    assert not det.is_ejected("A")
    assert det.stats["ejections_enforced_consecutive_local_origin_failure"] == 2

    for _ in range(4):
        det.report_local("A", "connect_failed", 95.0)
    det.report_local("A", "connect_success", 95.0)
    for _ in range(2):
        det.report_local("A", "connect_failed", 95.0)
    assert not det.is_ejected("A")


def test_s7_split_mode_http_codes_only_feed_5xx_counters() -> None:
    det, _ = detector(replace(BASE, split_external_local_origin_errors=True), ("A", "B"))
    for _ in range(4):
        det.report_local("A", "timeout", 0.0)
    codes(det, "A", [200], 0.0)  # does not reset the local-origin run
    det.report_local("A", "timeout", 0.0)
    assert det.is_ejected("A")
    assert det.stats["ejections_detected_consecutive_gateway_failure"] == 0


# -- membership ----------------------------------------------------------------------------------


def test_set_hosts_drops_removed_ejected_host_from_the_gauge() -> None:
    det, _ = detector(BASE, ("A", "B", "C"))
    codes(det, "A", [500] * 5, 0.0)
    assert det.stats["ejections_active"] == 1
    det.set_hosts(["B", "C", "D"])
    assert det.ejected == set()
    assert det.stats["ejections_active"] == 0
    assert det.hosts == ["B", "C", "D"]
    det.report_status("A", 500, 1.0)  # unknown host: ignored
