"""Envoy's previous_priorities retry priority (retryRemoteLocalities), on upstream's own cases:
test/extensions/retry/priority/previous_priorities/config_test.cc."""

from __future__ import annotations

from meshsim.sim.envoy.host_selection import priority_load
from meshsim.sim.envoy.previous_priorities import PreviousPriorities, adjusted_load

# host name -> priority, as the mock hosts' priority()
PRIORITY_OF = {"host1": 0, "host2": 1, "host3": 2}


def health(*hosts: tuple[int, int]) -> tuple[int, ...]:
    """``addHosts(priority, total, healthy)`` → the priority set's per-priority health."""
    return priority_load([h for _, h in hosts], [t for t, _ in hosts]).health


def test_default_frequency() -> None:
    plugin = PreviousPriorities(1)
    original, h = (100, 0), health((2, 2), (2, 2))
    assert plugin.priority_load(original, h, PRIORITY_OF) == original
    plugin.host_attempted("host1")
    assert plugin.priority_load(original, h, PRIORITY_OF) == (0, 100)
    plugin.host_attempted("host2")  # every priority tried: back to the original load
    assert plugin.priority_load(original, h, PRIORITY_OF) == original


def test_no_healthy_upstreams() -> None:
    plugin = PreviousPriorities(1)
    original, h = (0, 0, 0), health((10, 0), (10, 0), (10, 0))
    plugin.host_attempted("host1")
    assert plugin.priority_load(original, h, PRIORITY_OF) == original


def test_default_frequency_unhealthy_priorities() -> None:
    plugin = PreviousPriorities(1)
    original, h = (42, 28, 30), health((10, 3), (10, 2), (10, 10))
    assert h == (42, 28, 100)
    assert plugin.priority_load(original, h, PRIORITY_OF) == original
    plugin.host_attempted("host1")
    assert plugin.priority_load(original, h, PRIORITY_OF) == (0, 28, 72)
    plugin.host_attempted("host2")
    assert plugin.priority_load(original, h, PRIORITY_OF) == (0, 0, 100)
    plugin.host_attempted("host3")
    assert plugin.priority_load(original, h, PRIORITY_OF) == original


def test_overridden_frequency_is_istios_two() -> None:
    """Istio's UpdateFrequency 2: the first retry keeps the spill, the second leaves P0."""
    plugin = PreviousPriorities(2)
    original, h = (100, 0), health((2, 2), (2, 2))
    plugin.host_attempted("host1")
    assert plugin.priority_load(original, h, PRIORITY_OF) == original
    plugin.host_attempted("host1")
    assert plugin.priority_load(original, h, PRIORITY_OF) == (0, 100)
    plugin.host_attempted("host1")  # an odd count reuses the last adjusted load
    assert plugin.priority_load(original, h, PRIORITY_OF) == (0, 100)


def test_a_reset_forgets_the_attempted_hosts() -> None:
    plugin = PreviousPriorities(1)
    original, h = (100, 0), health((2, 2), (2, 2))
    plugin.host_attempted("host1")
    plugin.host_attempted("host2")
    assert plugin.priority_load(original, h, PRIORITY_OF) == original
    assert plugin.attempted == [] and plugin.excluded == [False, False]


def test_adjusted_load_hands_rounding_leftovers_to_the_first_priorities() -> None:
    assert adjusted_load((33, 33, 33), (False, False, False)) == (34, 33, 33)
    assert adjusted_load((100, 100), (True, True)) is None
