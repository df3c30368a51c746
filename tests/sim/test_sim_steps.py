"""A handler's call steps compiled into plans (``sim/steps.py``): the fields the pod reads per
downstream call are the spec's, a fan-out keeps its calls in order, and a call the app's own
client makes is marked for the pod's ``_launch`` hook (``AppPod``)."""

from __future__ import annotations

from dataclasses import replace

from builders import deployment, model

from meshsim.model import Call as CallSpec
from meshsim.model import Constant
from meshsim.model import Parallel as ParallelSpec
from meshsim.model.clients import ClientPolicy
from meshsim.sim import Simulation
from meshsim.sim.steps import CallPlan, plans


def test_a_call_plan_holds_its_specs_fields() -> None:
    spec = CallSpec("ratings", path="/r", method="POST", headers={"x-a": "1"},
                    probability=0.25, optional=True)
    plan = CallPlan(spec)
    assert plan.spec is spec
    assert plan.fan_out is None
    assert (plan.service, plan.method, plan.path) == ("ratings", "POST", "/r")
    assert plan.headers == {"x-a": "1"}
    assert (plan.probability, plan.optional, plan.app_client) == (0.25, True, False)


def test_no_headers_of_its_own_leave_the_parents_as_they_are() -> None:
    assert CallPlan(CallSpec("a")).headers is None


def test_a_fan_out_keeps_its_calls_in_order_nested_ones_included() -> None:
    inner = ParallelSpec((CallSpec("c"), CallSpec("d")))
    steps = (CallSpec("a"), ParallelSpec((CallSpec("b"), inner)))
    first, fan = plans(steps)
    assert first.service == "a" and first.fan_out is None
    assert fan.fan_out is not None
    b, nested = fan.fan_out
    assert b.service == "b"
    assert nested.fan_out is not None
    assert [p.service for p in nested.fan_out] == ["c", "d"]
    assert nested.spec is inner


def test_a_call_through_the_apps_own_client_is_marked_for_the_hook() -> None:
    assert CallPlan(CallSpec("a", client=ClientPolicy(attempts=2))).app_client
    assert not CallPlan(CallSpec("a")).app_client


def test_a_promoted_pod_runs_the_new_versions_plans() -> None:
    deps = [deployment("front", latency=Constant(0.001), calls=(CallSpec("a"),)),
            deployment("a", latency=Constant(0.001)), deployment("b", latency=Constant(0.001))]
    sim = Simulation(model(deps, rate=10, duration=0.1, target="front"))
    pod = next(p for p in sim.pods if p.service == "front")
    assert [plan.service for plan in pod._plans] == ["a"]
    pod.adopt(replace(pod.deployment, calls=(CallSpec("b"),)), pod.service_time)
    assert [plan.service for plan in pod._plans] == ["b"]
