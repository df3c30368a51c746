"""The outbound side of a caller: its sidecar proxy, or without a mesh its HTTP client.

Until the Istio and Linkerd semantics land, a meshed proxy routes with a plain round robin over
every pod of the service (per proxy, from a random start, as Envoy's per-worker RR does), and an
unmeshed caller goes through kube-proxy, which picks a pod at random per connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.sim.kernel import call_later
from meshsim.sim.messages import Attempt, Call
from meshsim.sim.sampling import Sampler

if TYPE_CHECKING:
    import simpy

    from meshsim.sim.engine import Simulation
    from meshsim.sim.pod import Pod


class Proxy:
    """One client proxy: its own balancer state per upstream service."""

    def __init__(self, sim: Simulation, name: str, sidecar: bool, pick_roll: Sampler) -> None:
        self.sim = sim
        self.env: simpy.Environment = sim.env
        self.name = name
        self.code = sim.recorder.intern(name)
        self.sidecar = sidecar
        self.outbound_overhead = sim.overhead if sidecar else 0.0
        self._roll = pick_roll
        self._rr: dict[str, int] = {}

    # -- a call ------------------------------------------------------------------------------
    def send(self, call: Call) -> None:
        now = self.env._now
        call.start = now
        if call.deadline is not None:
            if call.deadline <= now:
                self._give_up(call)
                return
            call_later(self.env, call.deadline - now, self._on_deadline, call)
        self._attempt(call, now)

    def _attempt(self, call: Call, now: float) -> None:
        pod = self.pick(call.service)
        call.attempts += 1
        att = Attempt(call, pod, call.attempts, now)
        call.attempt = att
        delay = self.outbound_overhead + self.sim.latency + pod.inbound_overhead
        if delay:
            call_later(self.env, delay, pod.on_arrive, att)
        else:
            pod.arrive(att)

    def pick(self, service: str) -> Pod:
        """Choose the endpoint for an attempt (the stand-in balancer, see module doc)."""
        pods = self.sim.endpoints[service]
        if not self.sidecar:
            return pods[int(self._roll() * len(pods))]
        i = self._rr.get(service)
        if i is None:
            i = int(self._roll() * len(pods))
        self._rr[service] = i + 1
        return pods[i % len(pods)]

    # -- outcomes ----------------------------------------------------------------------------
    def on_response(self, ev: simpy.Event) -> None:
        self.response(ev._value)

    def response(self, att: Attempt) -> None:
        if att.abandoned:
            return  # the caller already gave up; this is abandoned work arriving late
        call = att.call
        self._record_attempt(att, att.status, att.flags)
        self._complete(call, att.status, att.flags, att.pod.subset_code)

    def _on_deadline(self, ev: simpy.Event) -> None:
        call: Call = ev._value
        if not call.done:
            self._give_up(call)

    def _give_up(self, call: Call) -> None:
        """The calling app stops waiting; upstream work goes on unless cancellation says not."""
        att = call.attempt
        subset = 0
        if att is not None:
            att.abandoned = True
            self._record_attempt(att, 0, "DC")
            att.pod.cancel(att)
            subset = att.pod.subset_code
        self._complete(call, 0, "DC", subset)

    def _record_attempt(self, att: Attempt, status: int, flags: str) -> None:
        call = att.call
        rec = self.sim.recorder
        pod = att.pod
        rec.attempt(
            call.request_id, call.id, self.code, pod.sim_service_code, pod.subset_code, pod.code,
            att.number, att.start, self.env._now, status, rec.intern(flags) if flags else 0,
            att.number > 1, False,
        )

    def _complete(self, call: Call, status: int, flags: str, subset: int) -> None:
        now = self.env._now
        call.done = True
        call.end = now
        call.status = status
        call.flags = flags
        call.subset = subset
        rec = self.sim.recorder
        rec.call(
            call.id, call.request_id, self.code, self.sim.service_codes[call.service], subset,
            call.start, now, status, rec.intern(flags) if flags else 0, call.attempts, call.depth,
        )
        call.on_done(call)
