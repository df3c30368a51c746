"""The outbound side of a caller: what every client proxy does with a call.

:class:`Proxy` owns a call's bookkeeping (the caller's own deadline, records, completion).
:class:`PlainProxy` is a caller without mesh policy: with a sidecar but no translated policy
it balances round robin over every pod (per proxy, from a random start, as Envoy's per-worker
round robin does); without a sidecar it goes through kube-proxy, which picks a pod at random
per connection. :class:`~meshsim.sim.envoy.proxy.EnvoyProxy` applies Istio's policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from meshsim.sim.kernel import Timers, call_later
from meshsim.sim.messages import Attempt, Call
from meshsim.sim.sampling import Sampler

if TYPE_CHECKING:
    from meshsim.metrics.recorder import Recorder
    from meshsim.model.geography import Place
    from meshsim.sim.kernel import Kernel, Wake
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import Mesh
    from meshsim.sim.proxy_cpu import ProxyCpu
    from meshsim.sim.wire import Wire


class Proxy:
    """Bookkeeping shared by every kind of client proxy."""

    def __init__(
        self, sim: Mesh, name: str, sidecar: bool, pick_roll: Sampler,
        labels: Mapping[str, str] | None = None, namespace: str = "default",
    ) -> None:
        self.sim = sim
        self.env: Kernel = sim.env
        self.clock = self.env.clock  # ``clock.now`` is the time (a C read when compiled)
        self.name = name
        # held typed: the compiled build calls the recorder's hot methods in C
        self.recorder: Recorder = sim.recorder
        self.code = self.recorder.intern(name)
        self.sidecar = sidecar
        self.labels = dict(labels or {})
        self.namespace = namespace
        self.outbound_overhead = sim.overhead if sidecar else 0.0
        self._latency: float = sim.latency  # one way, the run's constant (read per attempt)
        self._roll = pick_roll
        self.identity: str | None = None  # mTLS identity (its ServiceAccount), set by the engine
        self.cpu: ProxyCpu | None = None  # set only when the run models proxy cost
        self._deadlines = Timers(self.env, 0.0, self._on_deadline, _call_done)
        self.responder = self.on_response  # bound once: every answer's Wake carries it
        self.wire: Wire | None = None  # the latency matrix from here (multi-cluster only)
        self.place: Place | None = None  # where the caller runs (multi-cluster only)

    # -- a call --------------------------------------------------------------------------------
    def send(self, call: Call) -> None:
        now = self.clock.now
        call.start = now
        if call.deadline is not None:
            if call.deadline <= now:
                self.give_up(call)
                return
            call.deadline_timer = self._deadlines.start_after(call.deadline - now, call)
        self.forward(call, now)

    def forward(self, call: Call, now: float) -> None:
        raise NotImplementedError

    def on_endpoints(self, service: str, pods: list[Pod]) -> None:
        """An EndpointSlice update for ``service``; a plain caller reads the endpoints on each
        request, so it has nothing to refresh (mesh proxies update their balancers)."""

    def transmit(self, att: Attempt) -> None:
        """Put an attempt on the wire to its pod (sidecars and network on the way)."""
        if self.cpu is not None:  # proxy cost modelled: CPU queues on the way
            self.sim.data_plane.transmit(self, att)  # type: ignore[union-attr]
            return
        pod = att.pod
        delay = self.outbound_overhead + self._latency + pod.inbound_overhead
        wire = self.wire
        if wire is not None:
            extra = att.wire = wire.extra(pod)
            delay += extra
            if wire.cuts and wire.cut(att, delay):
                return  # a link fault between the two clusters
        if delay:
            call_later(self.env, delay, pod.on_arrive, att)
        else:
            pod.arrive(att)

    def take_in_flight(self) -> list[object]:
        """Give up the requests this proxy holds itself, waiting for a connection or a
        balancer (the end of a run: :mod:`meshsim.sim.teardown`); a plain caller holds none."""
        return []

    def connect_timeout(self, att: Attempt) -> float:
        """How long a connect to a blackholed pod waits before failing (the kernel's default
        SYN retries take longer; 10 s is Istio's and a common client's)."""
        return 10.0

    # -- outcomes ------------------------------------------------------------------------------
    def on_response(self, ev: Wake) -> None:
        self.response(ev.value)

    def response(self, att: Attempt) -> None:
        if att.abandoned:
            return  # the caller already gave up; this is abandoned work arriving late
        call = att.call  # record_attempt, inlined: every plain request passes here
        pod = att.pod
        service, subset = pod.sim_service_code, pod.subset_code  # read once: duck-typed pod
        status, flags = att.status, att.flags
        rec = self.recorder
        rec.attempt(
            call.request_id, call.id, self.code, service, subset, pod.code,
            att.number, att.start, self.clock.now, status, rec.intern(flags) if flags else 0,
            att.number > 1, call.mirror,
        )
        self.complete(call, status, flags, subset, service)

    def _on_deadline(self, ev: Wake) -> None:
        call: Call = ev.value
        if not call.done:
            self.give_up(call)

    def give_up(self, call: Call) -> None:
        """The calling app stops waiting; upstream work goes on unless cancellation says not."""
        att = call.attempt
        subset, service = 0, None
        if att is not None and not att.abandoned:
            self.abandon(att, 0, "DC")
            subset, service = att.pod.subset_code, att.pod.sim_service_code
        self.complete(call, 0, "DC", subset, service)

    def abandon(self, att: Attempt, status: int, flags: str) -> None:
        """Stop waiting for an attempt: record it as the caller saw it, tell the pod."""
        att.abandoned = True
        self.record_attempt(att, status, flags)
        att.pod.cancel(att)

    def record_attempt(self, att: Attempt, status: int, flags: str) -> None:
        call = att.call
        rec = self.recorder
        pod = att.pod
        rec.attempt(
            call.request_id, call.id, self.code, pod.sim_service_code, pod.subset_code, pod.code,
            att.number, att.start, self.clock.now, status, rec.intern(flags) if flags else 0,
            att.number > 1, call.mirror,
        )

    def complete(
        self, call: Call, status: int, flags: str, subset: int, service: int | None = None
    ) -> None:
        """Record the call as the caller saw it; ``service`` is the service actually reached
        (an Envoy route may send a host's traffic to another service), default the host's."""
        if call.done:
            return
        now = self.clock.now
        call.done = True
        call.end = now
        call.status = status
        call.flags = flags
        call.subset = subset
        rec = self.recorder
        rec.call(
            call.id, call.request_id, self.code,
            self.sim.service_code(call.service) if service is None else service, subset,
            call.start, now, status, rec.intern(flags) if flags else 0, call.attempts, call.depth,
            call.mirror,
        )
        call.on_done(call)
        # Nothing reads these once the call is done (a late timer finds ``state`` gone and
        # knows the call is over); dropping them breaks the reference cycles (call <-> attempt,
        # parent attempt <-> its downstream calls, call <-> the proxy's per-request state) so
        # that reference counting frees finished requests at once, not the cyclic collector.
        call.attempt = None
        call.parent = None
        call.state = None
        if call.deadline_timer >= 0:  # over: the call is freed now, not at its deadline
            self._deadlines.let_go(call.deadline_timer)
            call.deadline_timer = -1


def _call_done(call: Call) -> bool:
    """A deadline is over once its call completed (``done`` never reverts)."""
    return call.done


class PlainProxy(Proxy):
    """A caller without mesh policy (see the module docstring)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._rr: dict[str, int] = {}
        self._endpoints = self.sim.endpoints  # the run's one table, updated in place

    def forward(self, call: Call, now: float) -> None:
        pods = self._endpoints[call.service]
        pod = pods[0] if len(pods) == 1 else self.pick(call.service)
        call.attempts += 1
        att = Attempt(call, pod, call.attempts, now)
        call.attempt = att
        if self.cpu is not None:
            self.transmit(att)
            return
        delay = self.outbound_overhead + self._latency + pod.inbound_overhead  # transmit
        if delay:
            call_later(self.env, delay, pod.on_arrive, att)
        else:
            pod.arrive(att)

    def pick(self, service: str) -> Pod:
        pods = self._endpoints[service]
        if len(pods) == 1:
            return pods[0]
        if not self.sidecar:
            return pods[int(self._roll() * len(pods))]
        i = self._rr.get(service)
        if i is None:
            i = int(self._roll() * len(pods))
        self._rr[service] = i + 1
        return pods[i % len(pods)]
