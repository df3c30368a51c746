"""One backend's balancer in one linkerd2-proxy: the queue, P2C and failure accrual.

linkerd2-proxy's ``linkerd/proxy/balance``: a :class:`~.queue.BalancerQueue` with failfast in
front of P2C over Peak-EWMA among ready endpoints, each endpoint with its own failure accrual
(linkerd.md §4–§5). The pool drives the queue at the moments something can change (a request
queues, an endpoint becomes ready, the failfast timer fires), arms the failfast and probe
timers and reports ejections; the proxy sends the attempts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.model.grpc import GRPC_BASE
from meshsim.model.linkerd import LinkerdBackend
from meshsim.sim.kernel import call_later
from meshsim.sim.linkerd.accrual import GRPC_FAILURE_CODES, ConsecutiveFailures
from meshsim.sim.linkerd.backoff import ExponentialBackoff
from meshsim.sim.linkerd.errors import http_status
from meshsim.sim.linkerd.ewma import P2C, PeakEwma
from meshsim.sim.linkerd.flight import Flight
from meshsim.sim.linkerd.queue import BalancerQueue
from meshsim.sim.sampling import Sampler

if TYPE_CHECKING:
    from meshsim.sim.kernel import Wake
    from meshsim.sim.linkerd.proxy import LinkerdProxy
    from meshsim.sim.pod import Pod

FAIL_FAST = http_status("fail_fast")
LOAD_SHED = http_status("load_shed")


class Endpoint:
    """One pod as one client proxy's balancer sees it."""

    __slots__ = ("accrual", "ewma", "pod")

    def __init__(self, pod: Pod, ewma: PeakEwma, accrual: ConsecutiveFailures | None) -> None:
        self.pod = pod
        self.ewma = ewma
        self.accrual = accrual


class BackendPool:
    """A backend's P2C balancer with its queue and failfast (per client proxy)."""

    def __init__(self, proxy: LinkerdProxy, service: str, pods: list[Pod],
                 spec: LinkerdBackend, roll: Sampler) -> None:
        self.proxy = proxy
        self.clock = proxy.clock
        self.service = service
        self.service_code: int | None = None  # the service's code, read at its first answer
        self.spec = spec
        self._roll = roll
        self.endpoints = [self._endpoint(pod) for pod in pods]
        self.p2c = P2C(roll)
        self.failfast = spec.queue.failfast_timeout
        # eps 0: the failfast fires on its timer only, as the engine's clock is exact.
        self.queue: BalancerQueue[Flight] = BalancerQueue(
            spec.queue.capacity, self.failfast, eps=0.0)
        self._deadline_token = 0

    def _endpoint(self, pod: Pod) -> Endpoint:
        now = self.proxy.env.now
        ewma = self.spec.peak_ewma
        accrual = self.spec.failure_accrual
        return Endpoint(
            pod,
            PeakEwma(ewma.default_rtt, ewma.decay, now=now),
            ConsecutiveFailures(
                accrual.consecutive_failures,
                ExponentialBackoff(accrual.min_penalty, accrual.max_penalty, accrual.jitter),
                rand=self._roll,
            ) if accrual else None,
        )

    def update(self, pods: list[Pod]) -> None:
        """The destination controller's endpoint update: kept pods keep their EWMA and
        accrual state, new ones start fresh, removed ones leave the balancer (requests on
        them finish). A queue (or a failfast gate) waiting for a ready endpoint opens."""
        now = self.proxy.env.now
        kept = {e.pod: e for e in self.endpoints}
        for endpoint in self.endpoints:
            if endpoint.pod not in pods and endpoint.accrual is not None \
                    and endpoint.accrual.state == "ejected":
                pod = endpoint.pod
                self.proxy.sim.recorder.level("ejected", pod.service, pod.version).change(
                    now, -1)
        self.endpoints = [kept.get(pod) or self._endpoint(pod) for pod in pods]
        if (len(self.queue) or not self.queue.gate_open) and self.ready(now):
            self.drain(now)

    def ready(self, now: float) -> list[Endpoint]:
        out: list[Endpoint] = []
        for e in self.endpoints:
            accrual = e.accrual
            if accrual is None:
                out.append(e)
                continue
            if accrual.state == "ejected":
                self.advance(e, now)  # an ejection that ended: back for a probe
            if accrual.ready(now):
                out.append(e)
        return out

    def is_ready(self) -> bool:
        """A backend is ready while its queue takes requests: not in failfast, not full."""
        return self.queue.ready()

    def pick(self, ready: list[Endpoint], now: float) -> Endpoint:
        """P2C by Peak-EWMA cost among the ready endpoints: :meth:`.ewma.P2C.pick` with the
        cost read in place (no closure per pick; the compiled build reads it in C)."""
        if len(ready) == 1:
            return ready[0]
        aidx, bidx = self.p2c.pair(len(ready))
        a = ready[aidx]
        b = ready[bidx]
        return a if a.ewma.cost(now) <= b.ewma.cost(now) else b

    # -- the queue ------------------------------------------------------------------------------
    def send(self, flight: Flight, now: float) -> None:
        """Dispatch at once if nobody waits, else queue; a shut gate or full queue sheds."""
        ready = self.admit(flight, now)
        if ready is not None:
            self.proxy.dispatch(flight, self, ready, now)

    def admit(self, flight: Flight, now: float) -> list[Endpoint] | None:
        """:meth:`send` up to the dispatch: the ready endpoints when the request goes out at
        once (the caller dispatches it), else None: queued, or shed (answered here)."""
        queue = self.queue
        if not queue.gate_open:
            self.proxy.outcome(flight, LOAD_SHED, "load_shed")
            return None
        ready = self.ready(now)
        if ready and queue.head is None:  # FIFO: nobody jumps the queue (none held: empty)
            return ready
        if not queue.ready():
            self.proxy.outcome(flight, LOAD_SHED, "load_shed")
        else:
            queue.enqueue(flight, now)
            if len(queue) == 1:
                self._step(now)  # the worker takes it and starts the failfast clock
        return None

    def drain(self, now: float) -> None:
        """An endpoint is ready: failfast ends and the queue goes out."""
        self.queue.endpoint_ready(now)
        self._step(now)

    def _step(self, now: float) -> None:
        queue = self.queue
        head = queue.head
        results = queue.step(now, self._dispatch)
        if queue.head is not None and queue.head is not head:  # a new head waits
            self._deadline_token += 1
            call_later(self.proxy.env, self.failfast, self._on_failfast, self._deadline_token)
        for result in results:
            if result.outcome == "fail_fast" and not result.request.done:
                self.proxy.outcome(result.request, FAIL_FAST, "fail_fast")

    def _dispatch(self, flight: Flight) -> bool:
        """The worker's P2C poll: False while no endpoint is ready; a finished request
        (cancelled, timed out) leaves the queue unsent."""
        now = self.clock.now
        ready = self.ready(now)
        if not ready:
            return False
        if not flight.done:
            self.proxy.dispatch(flight, self, ready, now)
        return True

    def _on_failfast(self, ev: Wake) -> None:
        if ev.value != self._deadline_token or not len(self.queue):
            return
        self._step(self.clock.now)

    # -- failure accrual ------------------------------------------------------------------------
    def accrue(self, endpoint: Endpoint, status: int, now: float) -> None:
        """A response from ``endpoint``: 5xx but 429 counts as a failure (linkerd.md §5.1)."""
        accrual = endpoint.accrual
        if accrual is None:
            return
        self.advance(endpoint, now)
        before = accrual.state
        failed = status >= 500 and status != 429
        if failed and status > GRPC_BASE:  # 200 with a grpc-status: Linkerd's gRPC failure set
            failed = status - GRPC_BASE in GRPC_FAILURE_CODES
        accrual.on_response(now, failed)
        if accrual.state == "ejected" and before != "ejected":
            self._accrual_event(endpoint, True, now)
        elif accrual.state == "admitting" and before != "admitting":
            self.drain(now)  # the probe succeeded: the queue goes out now
        due = accrual.next_deadline()
        if due is not None:
            call_later(self.proxy.env, max(0.0, due - now), self._on_probe_due, endpoint)

    def _on_probe_due(self, ev: Wake) -> None:
        now = self.clock.now
        self.advance(ev.value, now)
        if self.ready(now):
            self.drain(now)

    def advance(self, endpoint: Endpoint, now: float) -> None:
        """End an ejection that is due: the endpoint is back in the balancer for a probe."""
        accrual = endpoint.accrual
        assert accrual is not None
        if accrual.state == "ejected":
            accrual.advance(now)
            if accrual.state == "probation":
                self._accrual_event(endpoint, False, now)

    def _accrual_event(self, endpoint: Endpoint, ejected: bool, now: float) -> None:
        """Failure accrual taking an endpoint out of (or back into) the balancer."""
        pod = endpoint.pod
        recorder = self.proxy.sim.recorder
        recorder.level("ejected", pod.service, pod.version).change(now, 1 if ejected else -1)
        recorder.event(
            now, "eject" if ejected else "uneject", proxy=self.proxy.name, service=pod.service,
            subset=pod.version, pod=pod.name, detail="failure-accrual",
        )
