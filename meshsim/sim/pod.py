"""A pod: worker slots, a bounded FIFO queue, and the app's handler.

A request holds its worker slot for its own service time *and* while its downstream calls run,
as thread-per-request servers do; that coupling is what lets a slow leaf back up a whole tree.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING

from meshsim.model import Call as CallSpec
from meshsim.model import CallStep, Deployment
from meshsim.model import Parallel as ParallelSpec
from meshsim.model.grpc import as_grpc
from meshsim.sim.kernel import NORMAL, WAKE_HEAP, Wake, call_later
from meshsim.sim.messages import Attempt, Call, is_ok
from meshsim.sim.processor_sharing import ProcessorSharing
from meshsim.sim.sampling import Sampler
from meshsim.sim.steps import CallPlan, plans

if TYPE_CHECKING:
    from meshsim.metrics.levels import Level
    from meshsim.model.geography import Place
    from meshsim.sim.failures import PodFailures
    from meshsim.sim.kernel import Kernel
    from meshsim.sim.ports import Mesh
    from meshsim.sim.proxy import Proxy

INF = float("inf")


class Pod:
    """One replica of a deployment."""

    def __init__(
        self, sim: Mesh, deployment: Deployment, name: str, service_time: Sampler,
        roll: Sampler, call_roll: Sampler, *, mesh_sidecars: bool, drop_abandoned: bool,
    ) -> None:
        self.sim = sim
        self.env: Kernel = sim.env
        self.clock = sim.env.clock  # ``clock.now`` is the time (a C read when compiled)
        self._heap = sim.env.heap  # for the hot path (kernel.py: one of the two is used)
        self._ids = sim.env.ids
        self._queue = sim.env.queue
        self._work_done = self._on_work_done  # bound once: a Wake per request carries it
        self._call_done = self._on_call_done  # bound once: every downstream call carries it
        # The run's constants, read per request: held here, not looked up on ``sim``.
        self._latency: float = sim.latency
        self._propagate_deadlines: bool = sim.propagate_deadlines
        self._next_call_id = sim.next_call_id
        self.deployment = deployment
        self.name = name
        self.service = deployment.service
        self.version = deployment.version or ""
        self.labels = deployment.labels
        self.code = sim.recorder.intern(name)
        self.sim_service_code = sim.recorder.intern(self.service)
        self.subset_code = sim.recorder.intern(self.version)
        self.concurrency = deployment.concurrency
        self.queue_limit = INF if deployment.queue is None else deployment.queue
        self.calls: tuple[CallStep, ...] = deployment.calls
        self._plans = plans(self.calls)  # what a request's handler runs (steps.py)
        self.service_time = service_time
        self.roll = roll
        self.call_roll = call_roll
        # The mapping form of ``errors`` (an error model) replaces the plain rate: ``failures``.
        self.errors = deployment.errors if deployment.failure is None else 0.0
        self.failures: PodFailures | None = None  # set by the wiring for a bad pod
        # A gRPC server (and its sidecar) answers an error as HTTP 200 with a grpc-status.
        self.grpc = deployment.grpc
        contention = deployment.contention
        self.processor_sharing = contention.model == "processor-sharing"
        self.sharing = ProcessorSharing(sim.env, contention.cores, self.work_done)
        self.inflight_factor = contention.factor if contention.model == "inflight" else 0.0
        self.inbound_overhead = sim.overhead if deployment.sidecar and mesh_sidecars else 0.0
        self.drop_abandoned = drop_abandoned  # ``cancellation`` is not "none"
        self.busy = 0
        self.queue: deque[Attempt] = deque()
        self.waiting = 0  # live entries of the queue (cancelled ones are skipped lazily)
        # Started attempts, insertion-ordered (not a set: a crash must fail them in start
        # order, not in the order of their memory addresses).
        self.active: dict[Attempt, None] = {}
        # Chaos state, set by the fault timeline.
        self.down = False
        self.latency_factor = 1.0
        self.latency_add = 0.0
        self.fault_errors = 0.0
        self.blackholed = False  # down, and connects time out instead of being refused
        self.place: Place | None = None  # cluster and zone (multi-cluster scenarios)
        self.in_flight: Level = sim.recorder.level("in_flight", self.service, self.version)
        self.queue_depth: Level = sim.recorder.level("queue_depth", self.service, self.version)
        self.proxy: Proxy  # outbound side, set by the engine
        self.authorize: Callable[[Attempt], int] | None = None  # inbound policy, if any

    # -- arrival and admission -----------------------------------------------------------------
    def on_arrive(self, ev: Wake) -> None:
        self.arrive(ev.value)

    def arrive(self, att: Attempt) -> None:
        now = self.clock.now
        if self.down:
            self.refuse(att)
            return
        if att.abandoned and self.drop_abandoned:
            att.dead = True
            return
        if self.authorize is not None:
            status = self.authorize(att)
            if status != 200:
                self.reply(att, status, "")
                return
        if self.failures is not None and self.failures.arrive(self, att, now):
            return  # the app refused the connection
        if self.busy < self.concurrency:
            self.in_flight.change(now, 1)
            self._start(att, now)
        elif self.waiting < self.queue_limit:
            self.in_flight.change(now, 1)
            self.queue_depth.change(now, 1)
            att.queued = True
            self.queue.append(att)
            self.waiting += 1
        else:
            self.reply(att, 503, "")

    def refuse(self, att: Attempt) -> None:
        """A down pod refuses the connection (503 UF); a blackholed one never answers, so the
        caller's connect timeout fires first (Istio's ``connectTimeout``, 10 s by default)."""
        if self.blackholed:
            call_later(self.env, att.call.proxy.connect_timeout(att), self._on_timed_out, att)
        else:
            self.reply(att, 503, "UF")

    def _on_timed_out(self, ev: Wake) -> None:
        att: Attempt = ev.value
        att.status, att.flags = 503, "UF"
        att.call.proxy.response(att)  # the caller's own timer: no wire back

    def cancel(self, att: Attempt) -> None:
        """The caller gave up: drop the request if it has not started (``cancellation``)."""
        # Still queued (or still on the wire: ``arrive`` drops it then).
        if (self.drop_abandoned and att not in self.active and not att.dead
                and att.pod is self and att.queued):
            att.dead = True
            self.waiting -= 1
            now = self.clock.now
            self.queue_depth.change(now, -1)
            self.in_flight.change(now, -1)

    # -- work ----------------------------------------------------------------------------------
    def _start(self, att: Attempt, now: float) -> None:
        self.busy += 1
        self.active[att] = None
        att.calls = self._plans  # a promotion (adopt) mid-request must not change its steps
        work = self.service_time() * self.latency_factor + self.latency_add
        if self.inflight_factor:
            work *= 1.0 + self.inflight_factor * (self.busy - 1)
        if self.failures is None:
            errors = self.errors
            if self.fault_errors:
                errors = 1.0 - (1.0 - errors) * (1.0 - self.fault_errors)
            att.failed = errors > 0.0 and self.roll() < errors
        else:
            work = self.failures.start(self, att, work)
        if self.processor_sharing:
            self.sharing.add(att, work, now)
        elif WAKE_HEAP:
            self._queue.wake_at(now + work, self._work_done, att)
        else:
            heappush(self._heap, (now + work, NORMAL, next(self._ids),
                                  Wake(self._work_done, att)))

    def _on_work_done(self, ev: Wake) -> None:
        att: Attempt = ev.value  # work_done, inlined: this is every request's hot path
        if att.dead:
            return
        if att.failed:
            self.finish(att, att.status or 500, att.flags)  # an error model's status, or 500
        elif att.calls:
            att.step = 0
            self._next_step(att)
        else:
            self.finish(att, 200)

    def work_done(self, att: Attempt) -> None:
        if att.dead:
            return
        if att.failed:
            self.finish(att, att.status or 500, att.flags)  # an error model's status, or 500
        elif att.calls:
            att.step = 0
            self._next_step(att)
        else:
            self.finish(att, 200)

    def finish(self, att: Attempt, status: int, flags: str = "") -> None:
        """The handler answers: free the slot, reply, start the next queued request."""
        now = self.clock.now
        self.busy -= 1
        self.active.pop(att, None)
        self.in_flight.change(now, -1)
        if self.grpc and not flags:
            status = as_grpc(status)
        att.status = status  # reply, inlined
        att.flags = flags
        proxy = att.call.proxy
        delay = self._latency + att.wire
        if delay:
            if WAKE_HEAP:
                self._queue.wake_at(now + delay, proxy.responder, att)
            else:
                heappush(self._heap, (now + delay, NORMAL, next(self._ids),
                                      Wake(proxy.responder, att)))
            self._dequeue(now)
        else:
            # The answer is handled inside this call: take the waiting requests first, or a
            # caller's next request arriving now would jump the queue into the freed slot.
            self._dequeue(now)
            proxy.response(att)

    def _dequeue(self, now: float) -> None:
        """Start queued requests while workers are free (FIFO, skipping dropped ones)."""
        queue = self.queue
        while queue and self.busy < self.concurrency:
            nxt = queue.popleft()
            nxt.queued = False
            if nxt.dead:
                continue
            self.waiting -= 1
            self.queue_depth.change(now, -1)
            self._start(nxt, now)

    def reply(self, att: Attempt, status: int, flags: str) -> None:
        """Send the answer back over the network to the caller's proxy."""
        if self.grpc and not flags:
            status = as_grpc(status)
        att.status = status
        att.flags = flags
        proxy = att.call.proxy
        delay = self._latency + att.wire
        if delay:
            call_later(self.env, delay, proxy.responder, att)
        else:
            proxy.response(att)

    # -- the handler's downstream calls --------------------------------------------------------
    def _next_step(self, att: Attempt) -> None:
        """Run the handler's call steps in order; answer once they are over.

        ``pending`` counts a step's unanswered calls plus one for the launch itself, so a call
        the pod's own sidecar answers at once (503 UO, UH, NR, NC, a fault abort, a direct
        response, Linkerd's failfast) cannot end the step before its other calls are out."""
        calls = att.calls
        while att.step < len(calls):
            step = calls[att.step]
            att.step += 1
            att.pending = 1
            sent: list[Call] = []
            att.downstream = sent
            self._launch_planned(att, step, sent)
            att.pending -= 1
            if att.pending:
                return  # the last answer continues in _on_call_done
            if att.failed_call:
                break
        self.finish(att, 500 if att.failed_call else 200)

    def _launch_planned(self, att: Attempt, plan: CallPlan, sent: list[Call]) -> None:
        """Send a step's calls (:meth:`_launch` from the step's plan, read in C when compiled);
        a call the app's own client makes goes to :meth:`_launch`, which
        :class:`~meshsim.sim.client.pod_app.AppPod` overrides for it."""
        if plan.fan_out is not None:
            for child in plan.fan_out:
                self._launch_planned(att, child, sent)
            return
        if plan.app_client:
            self._launch(att, plan.spec, sent)
            return
        if plan.probability < 1.0 and self.call_roll() >= plan.probability:
            return
        parent = att.call
        headers = parent.headers
        if plan.headers is not None:
            headers = {**headers, **plan.headers}
        deadline = parent.deadline if self._propagate_deadlines else None
        call = Call(
            self._next_call_id(), parent.request_id, self.proxy, plan.service, plan.method,
            plan.path, headers, parent.depth + 1, deadline, self._call_done, att, plan.optional,
        )
        att.pending += 1  # before sending: the answer may come back inside send()
        sent.append(call)
        self.proxy.send(call)

    def _launch(self, att: Attempt, step: CallStep, sent: list[Call]) -> None:
        """Send one step's calls from the model's spec (the hook a subclass overrides; the
        request's own steps go through :meth:`_launch_planned`)."""
        if isinstance(step, ParallelSpec):
            for child in step.calls:
                self._launch(att, child, sent)
            return
        spec: CallSpec = step
        if spec.probability < 1.0 and self.call_roll() >= spec.probability:
            return
        parent = att.call
        headers = parent.headers
        if spec.headers:
            headers = {**headers, **spec.headers}
        deadline = parent.deadline if self._propagate_deadlines else None
        call = Call(
            self._next_call_id(), parent.request_id, self.proxy, spec.service, spec.method,
            spec.path, headers, parent.depth + 1, deadline, self._call_done, att,
            spec.optional,
        )
        att.pending += 1  # before sending: the answer may come back inside send()
        sent.append(call)
        self.proxy.send(call)

    def _on_call_done(self, call: Call) -> None:
        att = call.parent
        assert att is not None
        if att.dead:
            return
        if not is_ok(call.status) and not call.optional:
            att.failed_call = True
        att.pending -= 1
        if att.pending == 0:
            if att.failed_call:
                self.finish(att, 500)
            else:
                self._next_step(att)

    def held_by_finished_calls(self) -> list[str]:
        """Requests whose worker waits for more answers than their step has calls still open:
        a worker nothing will ever free (the engine checks every pod at the end of a run)."""
        held = []
        for att in self.active:
            still_open = sum(not call.done for call in att.downstream)
            if att.pending != still_open and not att.dead:
                held.append(
                    f"{self.name}: request {att.call.request_id} waits for {att.pending} "
                    f"answer(s) at step {att.step}, {still_open} of its calls "
                    f"{[call.id for call in att.downstream]} still open")
        return held

    def take_in_flight(self) -> list[Attempt]:
        """Give up every started and queued request (the end of a run: nothing runs after
        it; :mod:`meshsim.sim.teardown`), returning them. The counters keep their values."""
        held = list(self.active)
        held.extend(self.queue)
        self.active.clear()
        self.queue.clear()
        self.sharing.clear()
        return held

    # -- promotion -----------------------------------------------------------------------------
    def adopt(self, spec: Deployment, service_time: Sampler) -> None:
        """Run another version's code from now on (a rollout promoted it onto this pod):
        its latency, errors, calls and contention; requests already started keep their work
        and their call steps. Processor-shared work done so far is counted at the old rate."""
        self.service_time = service_time
        self.errors = spec.errors if spec.failure is None else 0.0
        self.calls = spec.calls
        self._plans = plans(self.calls)
        contention = spec.contention
        self.sharing.resize(contention.cores, self.clock.now)
        self.processor_sharing = contention.model == "processor-sharing"
        self.inflight_factor = contention.factor if contention.model == "inflight" else 0.0

    # -- chaos ---------------------------------------------------------------------------------
    def crash(self) -> None:
        """The pod goes down: everything it holds is lost and callers see a reset (503 UC)."""
        now = self.clock.now
        self.down = True
        lost = list(self.active) + [att for att in self.queue if not att.dead]
        for att in lost:
            att.dead = True
        self.in_flight.change(now, -(self.busy + self.waiting))
        self.queue_depth.change(now, -self.waiting)
        self.active.clear()
        self.queue.clear()
        self.sharing.clear()
        self.busy = 0
        self.waiting = 0
        for att in lost:
            self.reply(att, 503, "UC")

    def restart(self) -> None:
        self.down = False
