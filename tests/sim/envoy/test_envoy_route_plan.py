"""The route plan a sidecar compiles from each route: the same decisions as the route itself.

The router reads a :class:`RoutePlan` per request instead of the frozen :class:`Route`; these
tests pin that the plan answers what the route says (match order, per-try timeout arming,
faults, weighted pick and its draws, ``retry_on``), so the compiled shortcut cannot drift from
the configuration it stands for.
"""

from __future__ import annotations

from typing import cast

import pytest
from test_envoy_split import Rolls  # a roll that counts its draws

from meshsim.model.grpc import GRPC_BASE
from meshsim.model.rollout import TrafficTarget, Version
from meshsim.model.routes import (
    Backend,
    FaultInjection,
    Mirror,
    RetryPolicy,
    Route,
    RouteMatch,
    StringMatch,
)
from meshsim.sim.envoy.retry import RESET_KINDS, RetryOn
from meshsim.sim.envoy.route_plan import RoutePlan, edit_headers, select_plan
from meshsim.sim.live_routes import LiveWeights, register, with_live
from meshsim.sim.messages import Call
from meshsim.sim.proxy import Proxy
from meshsim.sim.routing import select_route


def call(path: str = "/", headers: dict[str, str] | None = None) -> Call:
    return Call(1, 1, cast(Proxy, None), "api", "GET", path, headers or {}, 0, None,
                lambda _: None)


def prefix(p: str) -> RouteMatch:
    return RouteMatch(uri=StringMatch("prefix", p))


TABLE = (
    Route("admin", matches=(prefix("/admin"),), backends=(Backend("admin"),)),
    Route("v2", matches=(prefix("/v2"), prefix("/beta")), backends=(Backend("api", "v2"),)),
    Route("rest", backends=(Backend("api", "v1"),)),
    Route("never", backends=(Backend("api", "v3"),)),  # behind a catch-all
)


@pytest.mark.parametrize("path", ["/admin/x", "/v2", "/beta/1", "/", "/v1/admin"])
def test_plans_pick_the_route_the_table_picks(path: str) -> None:
    plans = tuple(RoutePlan(r, False) for r in TABLE)
    chosen = select_plan(plans, call(path))
    assert chosen is not None
    assert chosen.route is select_route(TABLE, call(path))


def test_no_matching_route_is_no_plan() -> None:
    plans = (RoutePlan(TABLE[0], False),)
    assert select_plan(plans, call("/other")) is None
    assert select_route(TABLE[:1], call("/other")) is None


@pytest.mark.parametrize(
    ("timeout", "per_try", "armed"),
    [
        (0.0, 0.5, 0.5),  # no route timeout: the per-try timer always runs
        (2.0, 0.5, 0.5),  # below the route timeout
        (0.5, 0.5, 0.0),  # not below it: the route timer fires first, no per-try timer
        (0.3, 0.5, 0.0),
        (2.0, 0.0, 0.0),  # none configured
    ],
)
def test_the_per_try_timer_is_armed_only_below_the_route_timeout(
    timeout: float, per_try: float, armed: float
) -> None:
    route = Route("r", backends=(Backend("api"),), timeout=timeout,
                  retry=RetryPolicy(num_retries=2, retry_on=frozenset({"5xx"}),
                                    per_try_timeout=per_try))
    assert RoutePlan(route, False).per_try_timeout == armed


def test_a_route_without_retries_has_no_retry_classifier() -> None:
    plan = RoutePlan(Route("r", backends=(Backend("api"),), timeout=1.0), False)
    assert plan.retry_on is None and plan.per_try_timeout == 0.0


def test_faults_direct_replies_and_header_edits_are_copied() -> None:
    route = Route(
        "r", backends=(Backend("api"),), fault=FaultInjection(10.0, 0.2, 5.0, 418),
        set_headers={"x-a": "1"}, remove_headers=("x-b",), mirrors=(Mirror("shadow"),))
    plan = RoutePlan(route, True)
    assert (plan.delay_percent, plan.delay, plan.abort_percent, plan.abort_status) == (
        10.0, 0.2, 5.0, 418)
    assert plan.edits_headers and plan.grpc and not plan.direct
    assert plan.mirrors == route.mirrors
    bare = RoutePlan(Route("d", direct_status=301), False)
    assert bare.direct and bare.direct_status == 301
    assert (bare.delay_percent, bare.abort_percent, bare.edits_headers) == (0.0, 0.0, False)


def test_header_edits_remove_then_set_on_a_copy() -> None:
    shared = {"x-b": "old", "x-keep": "k"}
    request = call(headers=shared)
    edit_headers(request, {"x-a": "1", "x-keep": "new"}, ("x-b",))
    assert request.headers == {"x-a": "1", "x-keep": "new"}
    assert shared == {"x-b": "old", "x-keep": "k"}  # the caller's dict is untouched


def test_one_backend_draws_nothing_and_several_draw_once() -> None:
    one = RoutePlan(Route("r", backends=(Backend("api", "v1"),)), False)
    roll = Rolls([])
    assert one.pick(roll).subset == "v1" and roll.draws == 0
    split = RoutePlan(Route("r", backends=(Backend("api", "v1", weight=90),
                                           Backend("api", "v2", weight=10))), False)
    roll = Rolls([0.8999, 0.9])
    assert split.pick(roll).subset == "v1"
    assert split.pick(roll).subset == "v2"
    assert roll.draws == 2


def test_a_zero_weight_backend_is_never_picked() -> None:
    plan = RoutePlan(Route("r", backends=(Backend("api", "v1", weight=100),
                                          Backend("api", "off", weight=0))), False)
    assert plan.pick(Rolls([0.999999999])).subset == "v1"


def test_a_live_route_is_planned_as_live() -> None:
    target = TrafficTarget(host="api", primary=Version("api", "primary"),
                           canary=Version("api", "canary"), routes=("r",))
    table: dict = {}
    register(table, LiveWeights(target))
    (live,) = with_live(table, "api", (Route("r", backends=(Backend("api", "primary"),)),))
    assert RoutePlan(live, False).live is live
    assert RoutePlan(Route("r", backends=(Backend("api"),)), False).live is None


POLICIES = [
    frozenset({"5xx"}), frozenset({"gateway-error"}), frozenset({"retriable-4xx"}),
    frozenset({"retriable-status-codes"}), frozenset({"connect-failure", "refused-stream"}),
    frozenset({"reset"}), frozenset({"reset-before-request"}),
    frozenset({"unavailable", "cancelled", "resource-exhausted"}), frozenset(),
]
STATUSES = [200, 404, 409, 425, 500, 502, 503, 504, 599, GRPC_BASE + 1, GRPC_BASE + 14]


def expected_for_status(on: frozenset[str], status: int) -> bool:
    """Envoy's wouldRetryFromHeaders, written out for the statuses above."""
    grpc = status - GRPC_BASE if status > GRPC_BASE else None
    http = 200 if grpc is not None else status
    return ((500 <= http <= 599 and "5xx" in on)
            or (http in (502, 503, 504) and "gateway-error" in on)
            or (http == 409 and "retriable-4xx" in on)
            or (http in (425, 404) and "retriable-status-codes" in on)
            or (grpc == 14 and "unavailable" in on) or (grpc == 1 and "cancelled" in on))


def expected_for_reset(on: frozenset[str], kind: str) -> bool:
    """Envoy's wouldRetryFromReset; a connect failure is a reset before the request."""
    if kind == "overflow":
        return False
    return ((kind == "connect_failure" and ("connect-failure" in on
                                             or "reset-before-request" in on))
            or bool(on & {"reset", "5xx", "gateway-error"})
            or (kind == "refused_stream" and "refused-stream" in on))


@pytest.mark.parametrize("on", POLICIES, ids=lambda on: ",".join(sorted(on)) or "none")
def test_retry_on_flags_classify_as_the_policy_says(on: frozenset[str]) -> None:
    policy = RetryPolicy(retry_on=on, retriable_status_codes=frozenset({425, 404}))
    flags = RetryOn(policy)
    for status in STATUSES:
        assert flags.matches(status) == expected_for_status(on, status), status
    for kind in sorted(RESET_KINDS):
        assert flags.matches(kind) == expected_for_reset(on, kind), kind
    assert flags.policy is policy  # a retry state starts from the very policy


def test_an_unknown_reset_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown reset kind"):
        RetryOn(RetryPolicy(retry_on=frozenset({"reset"}))).matches("timeout")
