"""Load sources beyond the plain open loop: ramps, a VU cap, an app client, closed-loop users.

:class:`OpenSource` keeps :class:`~meshsim.sim.workload.Source`'s arrivals and adds what a
workload may ask for: linear ramps, k6's ``constant-arrival-rate`` (an arrival needs a free
VU, else it is dropped and counted) and an app client. :class:`Users` is the closed loop:
fortio/hey connections or k6 ``constant-vus``, each waiting for its answer and thinking before
the next request, optionally paced (fortio ``-qps``: the total split over the connections).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from meshsim.model import RequestTemplate, Workload
from meshsim.sim.client.app import AppClient
from meshsim.sim.client.ramp import INF, RateCurve
from meshsim.sim.kernel import Wake, call_later
from meshsim.sim.messages import Call
from meshsim.sim.workload import Source

if TYPE_CHECKING:
    from meshsim.sim.kernel import Kernel
    from meshsim.sim.ports import Mesh
    from meshsim.sim.proxy import Proxy
    from meshsim.sim.sampling import Sampler

DROPPED = "dropped-iteration"  # k6's dropped_iterations, one event per arrival without a VU


class Sender:
    """Picks a request template and sends it, through the client pod's app client if any."""

    def __init__(self, sim: Mesh, workload: Workload, roll: Sampler,
                 apps: dict[str, AppClient]) -> None:
        self.sim = sim
        self.roll = roll
        self.apps = apps  # per client proxy name: each client pod's own app client
        self.host = workload.host or workload.target
        self.timeout = workload.timeout
        self.templates = workload.requests
        total = sum(t.weight for t in self.templates)
        running, self.cumulative = 0.0, []
        for template in self.templates:
            running += template.weight
            self.cumulative.append(running / total)

    def template(self) -> RequestTemplate:
        if len(self.templates) == 1:
            return self.templates[0]
        u = self.roll()
        for tpl, edge in zip(self.templates, self.cumulative, strict=True):
            if u < edge:
                return tpl
        return self.templates[-1]

    def send(self, proxy: Proxy, answer: Callable[[int], None]) -> None:
        template = self.template()
        if self.apps:
            self.apps[proxy.name].send(proxy, template, answer)
            return
        sim = self.sim
        now = sim.env.now
        deadline = now + self.timeout if self.timeout > 0 else None
        call = Call(sim.next_call_id(), sim.next_request_id(), proxy, self.host, template.method,
                    template.path, template.headers, 0, deadline, lambda c: answer(c.status))
        sim.recorder.issued += 1
        proxy.send(call)


class OpenSource(Source):
    """Open-loop arrivals with ramps, a VU cap (``maxVUs``) and/or an app client."""

    def __init__(self, sim: Mesh, workload: Workload, clients: list[Proxy], unit_gap: Sampler,
                 roll: Sampler, sender: Sender) -> None:
        super().__init__(sim, workload, clients, unit_gap, roll)
        self.sender = sender
        self.curve = RateCurve(workload.schedule) if workload.ramps else None
        self.max_vus = workload.max_vus
        self.busy = 0
        self.dropped = 0

    def _schedule(self, t: float) -> None:
        if self.curve is None:
            super()._schedule(t)
            return
        need = self._unit_gap() if self._poisson else 1.0
        at = self.curve.next_arrival(t, need)
        if at < INF:
            call_later(self.env, at - self.env.now, self._arrive, None)

    def _issue(self, now: float) -> None:
        client = self._client()
        if self.max_vus:
            if self.busy >= self.max_vus:
                self.dropped += 1
                self.sim.recorder.event(now, DROPPED, proxy=client.name, service=self.host)
                return
            self.busy += 1
            self.sender.send(client, self._vu_free)
        else:
            self.sender.send(client, _ignore)

    def _vu_free(self, status: int) -> None:
        self.busy -= 1


def _ignore(status: int) -> None:
    """End-to-end requests are recorded as the depth-0 calls; nothing more to do."""


class User:
    """One closed-loop user (a connection, a VU)."""

    __slots__ = ("index", "left", "proxy", "source", "started")

    def __init__(self, source: Users, index: int, proxy: Proxy, left: int) -> None:
        self.source = source
        self.index = index
        self.proxy = proxy
        self.left = left  # requests still to send; -1 = no limit
        self.started = 0.0

    def answered(self, status: int) -> None:
        self.source.answered(self)


class Users:
    """A closed loop of users over the workload's client proxies (user i on client i mod n)."""

    def __init__(self, sim: Mesh, workload: Workload, clients: list[Proxy], think: Sampler,
                 sender: Sender) -> None:
        assert workload.closed is not None
        self.sim = sim
        self.env: Kernel = sim.env
        self.workload = workload
        self.loop = workload.closed
        self.code = sim.recorder.intern(workload.name)
        self.clients = clients
        self.think = think
        self.sender = sender
        users = self.loop.users
        self.pace = users / self.loop.qps if self.loop.qps > 0 else 0.0  # seconds per user
        self.stop = self.loop.duration if self.loop.duration > 0 else INF
        self.users = [User(self, i, clients[i % len(clients)], _share(self.loop.requests, users, i))
                      for i in range(users)]

    def start(self) -> None:
        for user in self.users:
            if user.left != 0:
                call_later(self.env, 0.0, self._begin, user)

    def _begin(self, ev: Wake) -> None:
        user: User = ev.value
        now = self.env.now
        if now >= self.stop:
            return
        user.started = now
        if user.left > 0:
            user.left -= 1
        self.sender.send(user.proxy, user.answered)

    def answered(self, user: User) -> None:
        if user.left == 0:
            return
        now = self.env.now
        at = now + self.think()
        if self.pace > 0:
            at = max(at, user.started + self.pace)
        if at < self.stop:
            call_later(self.env, at - now, self._begin, user)


def _share(total: int, users: int, index: int) -> int:
    """User ``index``'s part of ``total`` requests (fortio -n: an even split, the remainder
    to the first users); -1 when there is no total."""
    if total <= 0:
        return -1
    return total // users + (1 if index < total % users else 0)
