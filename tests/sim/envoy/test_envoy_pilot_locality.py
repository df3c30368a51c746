"""What istiod pushes one caller: priorities from failover / failoverPriority (E14, E15 of
reference/multicluster.md §3), distribute weights, and when locality LB is off."""

from __future__ import annotations

from meshsim.model.clusters import Distribute, Failover, LocalityLbSetting
from meshsim.model.geography import Place
from meshsim.sim.envoy.pilot_locality import (
    assign,
    distribute_weights,
    failover_priorities,
    label_priorities,
    lb_priority,
)

CALLER = Place("c1", "n1", "r1", "z1")
R1Z1 = Place("c1", "n1", "r1", "z1")
R1Z2 = Place("c1", "n1", "r1", "z2")
R2 = Place("c2", "n1", "r2", "z1")
R3 = Place("c3", "n1", "r3", "z1")


def test_lb_priority_counts_matching_locality_levels() -> None:
    assert lb_priority(CALLER, R1Z1) == 0
    assert lb_priority(CALLER, Place("c1", "n1", "r1", "z1", "s2")) == 1
    assert lb_priority(CALLER, R1Z2) == 2
    assert lb_priority(CALLER, R2) == 3


def test_e14_failover_region_rule_then_compaction() -> None:
    """raw 0, 2, 3, 4 → 0, 1, 2, 3; without the rule r2 and r3 share the last priority."""
    rule = (Failover("r1", "r2"),)
    assert failover_priorities(CALLER, [R1Z1, R1Z2, R2, R3], rule) == (0, 1, 2, 3)
    assert failover_priorities(CALLER, [R1Z1, R1Z2, R2, R3], ()) == (0, 1, 2, 2)


def test_e15_failover_priority_labels_in_order() -> None:
    keys = ("topology.istio.io/network", "topology.kubernetes.io/region",
            "topology.kubernetes.io/zone")
    same = Place("c1", "n1", "r1", "z1")
    other_zone = Place("c1", "n1", "r1", "z2")
    other_net = Place("c2", "n2", "r1", "z1")
    other_region = Place("c2", "n1", "r2", "z1")
    got = label_priorities(CALLER.labels(), [p.labels() for p in
                                             (same, other_zone, other_net, other_region)], keys)
    assert got == (0, 1, 3, 2)  # P = 3 − labels matched in order
    assert label_priorities(CALLER.labels(), [other_zone.labels()], keys) == (0,)  # compacted


def test_failover_priority_key_value_form_matches_the_value() -> None:
    got = label_priorities({}, [{"tier": "gold"}, {"tier": "silver"}], ("tier=gold",))
    assert got == (0, 1)


def test_distribute_splits_a_wildcard_weight_by_pod_counts_and_drops_the_rest() -> None:
    rule = Distribute("r1/z1/*", (("r1/z1/*", 70), ("r1/z2/*", 20), ("r3/*", 10)))
    endpoints = [R1Z1] * 3 + [R1Z2] * 2 + [R2] + [R3, Place("c3", "n1", "r3", "z9")]
    weights = distribute_weights(CALLER, endpoints, [rule])
    assert weights == (70, 70, 70, 20, 20, 0, 5, 5)


def test_distribute_without_a_matching_from_changes_nothing() -> None:
    rule = Distribute("r9/*", (("r1/*", 100),))
    assert distribute_weights(CALLER, [R1Z1, R1Z2], [rule]) is None


def test_no_outlier_detection_means_one_priority() -> None:
    setting = LocalityLbSetting(failover=(Failover("r1", "r2"),))
    assert assign(setting, outlier=False, caller=CALLER, endpoints=[R1Z1, R2]) is None


def test_outlier_detection_alone_turns_on_default_failover_without_locality_weights() -> None:
    plan = assign(None, outlier=True, caller=CALLER, endpoints=[R1Z1, R1Z2, R2])
    assert plan is not None
    assert plan.priority == (0, 1, 2)
    assert plan.locality_weight is None


def test_explicit_failover_sends_locality_weights() -> None:
    setting = LocalityLbSetting(failover=(Failover("r1", "r2"),))
    plan = assign(setting, outlier=True, caller=CALLER, endpoints=[R1Z1, R1Z1, R2])
    assert plan is not None and plan.locality_weight == (2, 2, 1)


def test_disabled_caller_without_place_or_one_locality_get_nothing() -> None:
    assert assign(LocalityLbSetting(enabled=False), outlier=True, caller=CALLER,
                  endpoints=[R1Z1, R2]) is None
    assert assign(None, outlier=True, caller=None, endpoints=[R1Z1, R2]) is None
    assert assign(None, outlier=True, caller=CALLER, endpoints=[R1Z1, R1Z1]) is None


def test_traffic_distribution_forces_failover_without_outlier_detection() -> None:
    plan = assign(None, outlier=False, caller=CALLER, endpoints=[R1Z1, R1Z2, R2],
                  traffic_distribution="PreferClose")
    assert plan is not None and plan.priority == (0, 1, 2)


def test_distribute_works_without_outlier_detection() -> None:
    setting = LocalityLbSetting(distribute=(Distribute("r1/*", (("r1/z1", 80),
                                                                ("r1/z2", 20))),))
    plan = assign(setting, outlier=False, caller=CALLER, endpoints=[R1Z1, R1Z2, R2])
    assert plan is not None
    assert plan.priority == (0, 0, -1)
    assert plan.locality_weight == (80, 20, 0)
