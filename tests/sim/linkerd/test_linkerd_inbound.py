"""linkerd2-proxy inbound authorization through the real engine (sim/linkerd/inbound.py),
checked against reference/linkerd.md."""

from __future__ import annotations

import numpy as np
from builders import deployment, model
from test_linkerd_proxy import linkerd

from meshsim.model import Constant
from meshsim.model.authz import InboundPolicy, ServerPolicy
from meshsim.sim import Simulation

MS = 1e-3


def test_server_access_policy_is_the_fallback_authorization() -> None:
    deps = [deployment("api", latency=Constant(1 * MS), concurrency=64)]
    server = ServerPolicy("api-http", "default", {"app": "api"}, 8080,
                          targets=(("api", None),), access_policy="all-unauthenticated")
    m = linkerd(model(deps, rate=20, duration=1, mesh="linkerd", arrival="constant"),
                inbound=InboundPolicy(servers=(server,)))
    rec = Simulation(m).run()
    assert len(rec.calls["status"]) > 0
    assert np.all(rec.calls["status"] == 200)


def test_a_denied_caller_is_denied_on_every_request_and_reported_once() -> None:
    """The answer is remembered per identity: every request of a denied caller is still a
    403, and only the edge's first denial is an event."""
    deps = [deployment("api", latency=Constant(1 * MS), concurrency=64)]
    server = ServerPolicy("api-http", "default", {"app": "api"}, 8080,
                          targets=(("api", None),), access_policy="deny")
    m = linkerd(model(deps, rate=20, duration=1, mesh="linkerd", arrival="constant"),
                inbound=InboundPolicy(servers=(server,)))
    rec = Simulation(m).run()
    assert len(rec.calls["status"]) >= 10
    assert np.all(rec.calls["status"] == 403)
    assert [e[1] for e in rec.events].count("authz-deny") == 1  # (time, kind, ...) rows
