"""Open-loop load sources: arrivals by a rate schedule, spread over client sidecars."""

from __future__ import annotations

import math
from heapq import heappush
from typing import TYPE_CHECKING

from meshsim.model import Workload
from meshsim.sim.kernel import NORMAL, WAKE_HEAP, Wake
from meshsim.sim.messages import Call
from meshsim.sim.sampling import Sampler

if TYPE_CHECKING:
    from meshsim.metrics.recorder import Recorder
    from meshsim.sim.kernel import Kernel
    from meshsim.sim.ports import Mesh
    from meshsim.sim.proxy import Proxy

INF = math.inf


class Source:
    """Issues a workload's requests; each request is a depth-0 call from one client proxy.

    Arrivals are chained callbacks rather than a generator process: this is the hot path of
    every scenario. Poisson arrivals stay Poisson per client because the client is drawn at
    random; constant arrivals take the clients in turn.
    """

    def __init__(
        self, sim: Mesh, workload: Workload, clients: list[Proxy], unit_gap: Sampler,
        roll: Sampler,
    ) -> None:
        self.sim = sim
        self.env: Kernel = sim.env
        self.clock = sim.env.clock  # ``clock.now`` is the time (a C read when compiled)
        self._queue = sim.env.queue  # the compiled build's event queue (kernel.WAKE_HEAP)
        self._heap = sim.env.heap  # the pure build's
        self._ids = sim.env.ids
        # Per request: the run's id counters and recorder, held here rather than read off sim.
        self._next_request_id = sim.next_request_id
        self._next_call_id = sim.next_call_id
        self._recorder: Recorder = sim.recorder
        self._arrival = self._arrive  # bound once: a Wake per request carries it
        self.workload = workload
        self.code = sim.recorder.intern(workload.name)
        self.clients = clients
        self._unit_gap = unit_gap  # Exp(1) draws for Poisson, scaled by 1/rate
        self._roll = roll
        self._poisson = workload.arrival == "poisson"
        self._next_client = 0
        self._steps = workload.schedule
        self._rate_from = 0.0
        self._rate_until = -INF
        self._current = 0.0
        self.timeout = workload.timeout
        self.host = workload.host or workload.target  # what the client proxy routes by
        templates = workload.requests
        total = sum(t.weight for t in templates)
        self._templates = templates
        # each template's (method, path, headers), read per request
        self._requests = [(t.method, t.path, t.headers) for t in templates]
        self._cumulative = [sum(t.weight for t in templates[: i + 1]) / total
                            for i in range(len(templates))]

    def start(self) -> None:
        self._rate_until = -INF
        self._schedule(0.0)

    def _rate(self, t: float) -> tuple[float, float]:
        """The rate in force at ``t`` and when it next changes."""
        rate, change = 0.0, INF
        for step in self._steps:
            if step.at <= t:
                rate = step.rate
            else:
                change = step.at
                break
        return rate, change

    def _schedule(self, t: float) -> None:
        while True:
            if t >= self._rate_until or t < self._rate_from:
                self._rate_from = t
                self._current, self._rate_until = self._rate(t)
            rate, change = self._current, self._rate_until
            if rate > 0.0:
                gap = self._unit_gap() / rate if self._poisson else 1.0 / rate
                if t + gap < change:
                    now = self.clock.now  # call_later, inlined
                    when = now + (t + gap - now)
                    if WAKE_HEAP:
                        self._queue.wake_at(when, self._arrival, None)
                    else:
                        heappush(self._heap, (when, NORMAL, next(self._ids),
                                              Wake(self._arrival, None)))
                    return
            if change == INF:
                return
            t = change  # memoryless for Poisson; a new phase for constant arrivals

    def _arrive(self, ev: Wake) -> None:
        now = self.clock.now
        self._issue(now)
        self._schedule(now)

    def _client(self) -> Proxy:
        """The client proxy of the next request: drawn at random (Poisson), else in turn."""
        clients = self.clients
        if len(clients) == 1:
            return clients[0]
        if self._poisson:
            return clients[int(self._roll() * len(clients))]
        client = clients[self._next_client % len(clients)]
        self._next_client += 1
        return client

    def _issue(self, now: float) -> None:
        client = self._client()
        requests = self._requests
        request = requests[0]
        if len(requests) > 1:
            u = self._roll()
            for shape, edge in zip(requests, self._cumulative, strict=True):
                if u < edge:
                    request = shape
                    break
        method, path, headers = request
        request_id = self._next_request_id()
        deadline = now + self.timeout if self.timeout > 0 else None
        call = Call(
            self._next_call_id(), request_id, client, self.host, method, path, headers, 0,
            deadline, _ignore,
        )
        self._recorder.issued += 1
        client.send(call)


def _ignore(call: Call) -> None:
    """End-to-end requests are recorded as the depth-0 calls; nothing more to do."""
