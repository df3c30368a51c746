"""What travels through the simulated mesh: requests, hop calls and attempts.

Plain slotted objects, allocated per request on the hot path; behaviour lives in the actors
(:mod:`~meshsim.sim.proxy`, :mod:`~meshsim.sim.pod`) that pass them around.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshsim.sim.pod import Pod
    from meshsim.sim.proxy import Proxy
    from meshsim.sim.steps import CallPlan

POD_ADDRESS = "10.244.0.10"  # a pod's IP: every in-cluster caller is inside the cluster networks


def is_ok(status: int) -> bool:
    """A non-5xx answer that arrived (status 0 means the caller gave up)."""
    return 0 < status < 500


class Ids:
    """Request and call ids, each counting from 0 in the order they are taken.

    Here, not on the interpreted engine, so that taking one (twice per request, once per
    hop) is a call into compiled code in the compiled build."""

    __slots__ = ("calls", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.calls = 0

    def next_request(self) -> int:
        self.requests += 1
        return self.requests - 1

    def next_call(self) -> int:
        self.calls += 1
        return self.calls - 1


class Call:
    """One hop: a caller's proxy asking a service for something, with all its attempts."""

    __slots__ = (
        "attempt", "attempts", "deadline", "deadline_timer", "depth", "done", "end", "flags",
        "headers", "id",
        "method", "mirror", "on_done", "optional", "parent", "path", "proxy", "request_id",
        "service", "start", "state", "status", "subset",
    )

    def __init__(  # noqa: PLR0913 - built once per hop on the hot path: positional is cheapest
        self, call_id: int, request_id: int, proxy: Proxy, service: str, method: str,
        path: str, headers: Mapping[str, str], depth: int, deadline: float | None,
        on_done: Callable[[Call], None], parent: Attempt | None = None, optional: bool = False,
    ) -> None:
        self.id = call_id
        self.request_id = request_id
        self.proxy = proxy
        self.service = service
        self.method = method
        self.path = path
        self.headers = headers
        self.depth = depth
        self.deadline = deadline  # absolute time at which the caller gives up, or None
        self.deadline_timer = -1  # its timer's ticket (Timers.let_go), -1 once let go of
        self.on_done = on_done
        self.parent = parent  # the attempt whose handler made this call (None for a workload)
        self.optional = optional
        self.start = 0.0
        self.end = 0.0
        self.done = False
        self.status = 0
        self.flags = ""
        self.attempts = 0
        self.attempt: Attempt | None = None
        self.subset = 0
        self.mirror = False
        self.state: object = None  # the caller proxy's per-request state (Envoy: Upstream)

    @property
    def ok(self) -> bool:
        return is_ok(self.status)


class Attempt:
    """One try of a call on one pod; also the job record while the pod works on it."""

    __slots__ = (
        "abandoned",
        "call",
        "calls",
        "dead",
        "downstream",
        "failed",
        "failed_call",
        "flags",
        "number",
        "pending",
        "pod",
        "queued",
        "remaining",
        "start",
        "status",
        "step",
        "wire",
    )

    def __init__(self, call: Call, pod: Pod, number: int, start: float) -> None:
        self.call = call
        self.pod = pod
        self.number = number
        self.start = start
        self.abandoned = False  # the caller stopped waiting for it
        self.dead = False  # the pod lost it (crash) or dropped it (cancellation)
        self.queued = False  # waiting in its pod's queue (a cancel checks this, not the queue)
        self.failed = False  # the app's own error roll
        self.failed_call = False  # a required downstream call failed
        self.status = 0
        self.flags = ""
        self.calls: Sequence[CallPlan] = ()  # the handler's call steps, fixed when it starts
        self.step = 0
        self.pending = 0  # downstream calls of the current step not yet answered
        self.downstream: Sequence[Call] = ()  # the current step's calls
        self.remaining = 0.0  # processor-sharing work left
        self.wire = 0.0  # one way beyond network.latency (the latency matrix), both ways

