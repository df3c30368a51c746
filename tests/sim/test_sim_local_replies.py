"""Local replies (a proxy answering a call itself, at once) must free the calling worker.

Issue 19: a pod's handler launched its calls before counting them, so a call its own sidecar
answered inside ``send`` (503 UO, UH, 404 NR, a fault abort, a direct response, Linkerd's
failfast, a local authorization denial) left the worker waiting for an answer that had already
come: every such reply leaked one worker for the rest of the run. These scenarios put local
replies at every hop (client → front → mid → leaf, a parallel fan-out with an optional call)
with zero network latency and proxy overhead, so every one of them is synchronous.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from builders import deployment, model
from paths import FIXTURES

import meshsim
from meshsim.metrics.invariants import InvariantError, check
from meshsim.model import Call as CallSpec
from meshsim.model import CallStep, Constant, RateStep
from meshsim.model import Parallel as ParallelSpec
from meshsim.sim import Simulation
from meshsim.sim.messages import Attempt, Call
from meshsim.sim.pod import Pod

SIM_FIXTURES = FIXTURES / "sim"
HOPS = ("front", "mid", "a", "b", "leaf")  # every service some caller's proxy routes to

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {{name: local-replies}}
spec:
  mesh: {mesh}
  duration: 12s
  seed: 3
  network: {{latency: 0ms}}
  proxy: {{overhead: 0ms}}
  services:
    front:
      concurrency: 20
      latency: constant(1ms)
      calls: [mid, {{parallel: [a, {{service: b, optional: true, path: /private}}]}}]
    mid:
      concurrency: 10
      latency: constant(1ms)
      calls: [{{service: leaf, probability: 0.7, path: /private}}]
    a: {{latency: exponential(4ms), {pool}}}
    b: {{latency: exponential(4ms), {pool}}}
    leaf: {{latency: exponential(4ms), {pool}}}
  workload:
    - name: users
      target: front
      rate: 150/s
      clients: 2
      timeout: 2s
      request:
{templates}
{extra}
"""


def _templates() -> str:
    """Most requests pass every hop's header match; each other one misses one hop's."""
    passing = {f"pass-{hop}": "1" for hop in HOPS}
    lines = [f"        - {{path: /, weight: 5, headers: {passing}}}"]
    for hop in HOPS:
        headers = {k: v for k, v in passing.items() if k != f"pass-{hop}"}
        lines.append(f"        - {{path: /private, weight: 1, headers: {headers}}}")
    return "\n".join(lines).replace("'", '"')


def _each_hop(template: str) -> str:
    return "".join(f"---\n{template.format(host=hop)}" for hop in HOPS)


ISTIO_ROUTE = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {{name: {host}}}
spec:
  hosts: [{host}]
  http:
"""
ISTIO: dict[str, str] = {
    # 503 UO: small pools, one request per connection (mid's is unlimited, so that mid may
    # call leaf more than once at a time).
    "UO": "".join(f"""---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {{name: {host}}}
spec:
  host: {host}
  trafficPolicy:
    connectionPool:
      tcp: {{maxConnections: {conns}}}
      http: {{http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}}
""" for host, conns in (("front", 2), ("a", 1), ("b", 1), ("leaf", 1))),
    # 404 NR: a request without the hop's header matches no route.
    "NR": _each_hop(ISTIO_ROUTE + """\
    - match: [{{headers: {{pass-{host}: {{exact: "1"}}}}}}]
      route: [{{destination: {{host: {host}}}}}]
"""),
    # A direct response instead of NR.
    "direct": _each_hop(ISTIO_ROUTE + """\
    - match: [{{headers: {{pass-{host}: {{exact: "1"}}}}}}]
      route: [{{destination: {{host: {host}}}}}]
    - directResponse: {{status: 503}}
"""),
    # Fault abort on a fifth of the requests.
    "FI": _each_hop(ISTIO_ROUTE + """\
    - fault: {{abort: {{percentage: {{value: 20}}, httpStatus: 503}}}}
      route: [{{destination: {{host: {host}}}}}]
"""),
    # 503 UH: a fifth of the traffic goes to a subset that selects no pod.
    "UH": _each_hop(ISTIO_ROUTE + """\
    - route:
        - {{destination: {{host: {host}, subset: live}}, weight: 80}}
        - {{destination: {{host: {host}, subset: ghost}}, weight: 20}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {{name: {host}}}
spec:
  host: {host}
  subsets:
    - {{name: live, labels: {{app: {host}}}}}
    - {{name: ghost, labels: {{app: nobody}}}}
"""),
    # 403 at the callee's inbound sidecar (synchronous here: no network latency).
    "deny": _each_hop("""\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: {host}}}
spec:
  selector: {{matchLabels: {{app: {host}}}}}
  action: DENY
  rules: [{{to: [{{operation: {{paths: ["/private"]}}}}]}}]
"""),
    # 503 from the callee pod itself: its one worker is busy and it queues nothing.
    "queue": "",
}

LINKERD_ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {host}}}
spec:
  parentRefs: [{{name: {host}, kind: Service, group: core, port: 80}}]
  rules:
"""
LINKERD: dict[str, str] = {
    "NR": _each_hop(LINKERD_ROUTE + """\
    - matches: [{{headers: [{{name: pass-{host}, value: "1"}}]}}]
      backendRefs: [{{name: {host}, port: 80}}]
"""),
    # Failure accrual ejects a failing pod; with no ready endpoint for 3 s the balancer
    # fails fast (504) and then sheds every request at once (503) until one is ready. Only
    # b and leaf accrue failures, so that their callers front and mid stay in use.
    "failfast": "".join(f"""---
apiVersion: v1
kind: Service
metadata:
  name: {host}
  annotations: {{balancer.linkerd.io/failure-accrual: consecutive}}
""" for host in ("b", "leaf")),
    # 403 at the callee's inbound proxy: b and leaf (the /private calls) admit nobody.
    "deny": "".join(f"""---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {{name: {host}}}
spec:
  podSelector: {{matchLabels: {{app: {host}}}}}
  port: http
  accessPolicy: deny
""" for host in ("b", "leaf")),
}
FAILFAST_FAULTS = """\
  faults:
    - {at: 1s, for: 8s, target: b, errors: 1.0}
    - {at: 1s, for: 8s, target: leaf, errors: 1.0}
"""
CASES = [("istio", kind) for kind in ISTIO] + [("linkerd", kind) for kind in LINKERD]


def scenario(tmp_path: Path, mesh: str, kind: str) -> meshsim.Scenario:
    manifests = (ISTIO if mesh == "istio" else LINKERD)[kind]
    text = SCENARIO.format(
        mesh=mesh, templates=_templates(),
        pool="concurrency: 1, queue: 0" if kind == "queue" else "concurrency: 4",
        extra=FAILFAST_FAULTS if kind == "failfast" else "",
    ) + manifests
    path = tmp_path / f"{mesh}-{kind}.yaml"
    path.write_text(text)
    return meshsim.load(path)


def local_replies(results: meshsim.Results, kind: str) -> np.ndarray:
    """Calls (depth >= 1: the hops inside the mesh) answered the way ``kind`` answers."""
    calls = results.calls
    flags = calls["flags"].astype(str).to_numpy().astype(str)
    status = calls["status"].to_numpy()
    inner = calls["depth"].to_numpy() >= 1
    wanted = {
        "UO": np.char.find(flags, "UO") >= 0,
        "UH": np.char.find(flags, "UH") >= 0,
        "NR": np.char.find(flags, "NR") >= 0,
        "FI": np.char.find(flags, "FI") >= 0,
        "direct": (status == 503) & (flags == ""),
        "deny": status == 403,
        "queue": (status == 503) & (flags == ""),
        "failfast": ((status == 503) | (status == 504)) & (flags == ""),
    }[kind]
    return wanted & inner


# -- the scenario of the issue -----------------------------------------------------------------
def test_a_sidecars_overflow_answer_frees_the_callers_worker() -> None:
    """front's sidecar answers 503 UO when back's pool is full: front answers 500 at once and
    keeps serving. Before the fix 17 UO replies in the first 0.14 s leaked 17 of its 20
    workers, and from ~7 s on every request timed out after 5 s."""
    results = meshsim.simulate(meshsim.load(SIM_FIXTURES / "local-overflow.yaml"))
    requests = results.requests
    late = requests[requests["start"].to_numpy() >= 10.0]
    assert (requests["status"].to_numpy() == 0).sum() == 0  # no request waited for its timeout
    assert late["ok"].mean() > 0.4  # back serves ~100 of 150 req/s to the end
    failed = late[~late["ok"].to_numpy()]
    assert len(failed) > 100 and set(failed["status"].tolist()) == {500}
    assert failed["latency"].max() < 0.05  # the 503 UO came back at once


def test_overflows_are_counted_on_the_row_of_the_overflowing_cluster() -> None:
    """The golden table's OVERFLOWS for ``back`` are its UO attempt rows in the window (before
    the fix: 0, as every overflow happened in the warm-up before front's workers leaked)."""
    results = meshsim.simulate(meshsim.load(SIM_FIXTURES / "local-overflow.yaml"))
    attempts = results.attempts
    in_window = attempts["start"].to_numpy() >= results.warmup
    uo = attempts[in_window & (attempts["flags"].astype(str) == "UO").to_numpy()]
    assert set(uo["service"].astype(str)) == {"back"}
    summary = results.summary.set_index("service")
    assert summary.loc["back", "overflows"] == len(uo) > 500
    assert summary.loc["front", "overflows"] == 0


# -- every kind of local reply, at every hop, both meshes --------------------------------------
@pytest.mark.parametrize(("mesh", "kind"), CASES)
def test_no_worker_is_held_after_local_replies(tmp_path: Path, mesh: str, kind: str) -> None:
    sc = scenario(tmp_path, mesh, kind)
    recording = Simulation(sc.model).run()
    check(recording)  # conftest checks too; explicit, as this is what the test is about
    assert recording.held_workers == []
    results = meshsim.simulate(sc)
    replies = local_replies(results, kind)
    callers = set(results.calls["caller"].astype(str)[replies])
    # Local replies happened inside the mesh, to pods' calls (front's, mid's or both).
    assert replies.sum() > 20 and callers & {"front-0", "mid-0"}, (replies.sum(), callers)
    if kind != "failfast":  # (there, calls queue up to 3 s for an endpoint: callers wait)
        # Each local reply made its caller answer at once: no request waited for its timeout.
        assert (results.requests["status"].to_numpy() == 0).sum() == 0


# -- the invariant would have caught the bug ---------------------------------------------------
def _old_next_step(self: Pod, att: Attempt) -> None:
    """The ordering before the fix: calls sent first, counted after."""
    calls = self.calls
    while att.step < len(calls):
        step = calls[att.step]
        att.step += 1
        sent: list[Call] = []
        att.downstream = sent
        _old_launch(self, att, step, sent)
        if sent:
            att.pending = len(sent)  # overwrites what answers inside send() took off
            return
    self.finish(att, 500 if att.failed_call else 200)


def _old_launch(self: Pod, att: Attempt, step: CallStep, sent: list[Call]) -> None:
    if isinstance(step, ParallelSpec):
        for child in step.calls:
            _old_launch(self, att, child, sent)
        return
    if step.probability < 1.0 and self.call_roll() >= step.probability:
        return
    parent = att.call
    headers = {**parent.headers, **step.headers} if step.headers else parent.headers
    call = Call(
        self.sim.next_call_id(), parent.request_id, self.proxy, step.service, step.method,
        step.path, headers, parent.depth + 1, None, self._on_call_done, att, step.optional,
    )
    sent.append(call)
    self.proxy.send(call)


@pytest.mark.pure_build
@pytest.mark.skipif(meshsim.build() == "compiled",
                    reason="patches Pod, a compiled class; .ci/run runs it with MESHSIM_PURE=1")
@pytest.mark.parametrize(("mesh", "kind"), CASES)
def test_the_invariant_catches_the_old_ordering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mesh: str, kind: str,
) -> None:
    """Every scenario above leaks workers under the old ordering, and the end-of-run check
    (which conftest applies to every run) says so."""
    model = scenario(tmp_path, mesh, kind).model
    monkeypatch.setattr(Pod, "_next_step", _old_next_step)
    with pytest.raises(InvariantError, match="held by calls that have finished"):
        Simulation(model).run()


# -- an answer handled inside the pod's own finish ---------------------------------------------
def test_an_answer_handled_at_once_does_not_let_the_next_call_jump_the_queue() -> None:
    """With no network latency the caller handles back's answer inside back's ``finish``; its
    next call to back must queue behind the request already waiting there (FIFO), as it would
    behind any network delay, not take the slot just freed."""
    deps = [
        deployment("front", latency=Constant(0.0), concurrency=2,
                   calls=(CallSpec("back"), CallSpec("back"))),
        deployment("back", latency=Constant(0.010), concurrency=1),
    ]
    m = model(deps, rate=1000, duration=0.05, arrival="constant")
    two = replace(m.workloads[0], schedule=(RateStep(0.0, 1000.0), RateStep(0.0025, 0.0)))
    recording = Simulation(replace(m, workloads=(two,))).run()  # requests at 1 ms and 2 ms
    calls = recording.calls
    back = recording.names.index("back")
    rows = sorted(
        (int(r), float(s), float(e)) for r, s, e, svc in zip(
            calls["request_id"], calls["start"], calls["end"], calls["service"], strict=True)
        if svc == back
    )
    (_, _, first_end), (_, second_start, second_end), (_, _, other_end), _ = rows
    # Request 0's first call ends at 11 ms and its second is sent then; request 1's call has
    # waited at back since 2 ms, so it is served first (ends 21 ms), request 0's second after.
    assert first_end == pytest.approx(0.011)
    assert second_start == pytest.approx(0.011)
    assert other_end == pytest.approx(0.021)
    assert second_end == pytest.approx(0.031)


# -- a stopped load drains: nothing is held by anything ----------------------------------------
@pytest.mark.parametrize(("mesh", "kind"), CASES)
def test_every_pod_drains_after_the_load_stops(tmp_path: Path, mesh: str, kind: str) -> None:
    """The held-worker invariant compares a worker's count with its open calls, so a worker
    stuck with nothing pending would pass it. Here the load stops at 5 s and the run goes on
    to 25 s, long past every timeout: every pod must end idle, with an empty queue."""
    sc = scenario(tmp_path, mesh, kind).with_overrides({
        "spec.duration": "25s",
        "spec.workload[0].rate": [{"at": "0s", "rate": "150/s"}, {"at": "5s", "rate": "0/s"}],
    })
    simulation = Simulation(sc.model)
    check(simulation.run())
    held = [f"{pod.name}: busy {pod.busy}, queued {pod.waiting}, active {len(pod.active)}"
            for pod in simulation.pods if pod.busy or pod.waiting or pod.active]
    assert held == []
