"""The calling app's HTTP/gRPC client: tries, timeouts, back-off, retry quota, breaker, hedging.

Each try is a depth-0 call of its own (same request id), so the requests table holds one row
per client try and amplification shows at every layer: client tries per user request, proxy
attempts per client try. A call the client's breaker refuses is recorded as a row with status
0 and flag ``CB`` that reached no proxy (attempts 0).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING

from meshsim.model import Call as CallSpec
from meshsim.model import RequestTemplate
from meshsim.model.clients import ClientPolicy
from meshsim.sim.client.adaptive import RateLimiter
from meshsim.sim.client.backoff import sleep
from meshsim.sim.client.breaker import CountBreaker
from meshsim.sim.client.quota import RetryTokens
from meshsim.sim.kernel import Wake, call_later
from meshsim.sim.messages import Call, is_ok

if TYPE_CHECKING:
    from meshsim.sim.messages import Attempt
    from meshsim.sim.ports import Mesh
    from meshsim.sim.proxy import Proxy
    from meshsim.sim.sampling import Sampler

Answer = Callable[[int], None]  # told the user request's final status (0: no answer)
REJECTED = "CB"  # the client's own breaker refused the call
THROTTLED = 429  # what the adaptive limiter reads as the server throttling (Too Many Requests)


def retryable(status: int) -> bool:
    """What the AWS SDKs, gRPC and resilience4j defaults retry: no answer, 429 and 5xx."""
    return status == 0 or status == 429 or status >= 500


class UserRequest:
    """One request as the calling app sees it, over all its tries: a user request (a
    workload's, depth 0) or a handler's call to a dependency (inside a pod, depth > 0)."""

    __slots__ = ("answer", "deadline", "depth", "done", "headers", "id", "last_cost", "live",
                 "optional", "parent", "previous_sleep", "proxy", "request_id", "template",
                 "token", "tries")

    def __init__(self, request_id: int, proxy: Proxy, template: RequestTemplate | CallSpec,
                 deadline: float | None, answer: Answer, depth: int = 0,
                 parent: Attempt | None = None) -> None:
        self.request_id = request_id
        self.proxy = proxy
        self.template = template
        self.headers = template.headers
        self.deadline = deadline
        self.answer = answer
        self.depth = depth
        self.parent = parent  # the handler's attempt making a dependency call (else None)
        self.optional = False
        self.id = 0  # the first row's call id: names a dependency call over its tries
        self.tries = 0
        self.live: list[Call] = []  # tries still waiting (more than one when hedging)
        self.done = False
        self.last_cost = 0.0
        self.previous_sleep = 0.0
        self.token = False  # the adaptive limiter's token is taken: the next try goes out


class AppClient:
    """One client pod's client library: its retry quota and breaker are shared by the users
    on that pod (each of a workload's ``clients`` has its own, as each pod has its own SDK)."""

    def __init__(self, sim: Mesh, policy: ClientPolicy, host: str, fallback_timeout: float,
                 roll: Sampler) -> None:
        self.sim = sim
        self.env = sim.env
        self.policy = policy
        self.host = host
        self.timeout = policy.timeout or fallback_timeout
        self.roll = roll
        self.tokens = RetryTokens(policy.quota) if policy.quota is not None else None
        self.breaker = CountBreaker(policy.breaker) if policy.breaker is not None else None
        self.limiter = (RateLimiter(policy.rate_limiter, sim.env.now)
                        if policy.rate_limiter is not None else None)
        self.waiting: deque[UserRequest] = deque()  # tries blocked on the limiter, in turn
        self.pump_turn = 0  # the one wake-up that counts (the rate may change meanwhile)

    def send(self, proxy: Proxy, template: RequestTemplate, answer: Answer) -> None:
        now = self.env.now
        deadline = now + self.timeout if self.timeout > 0 else None
        request = UserRequest(self.sim.next_request_id(), proxy, template, deadline, answer)
        self._try(request)

    def call(self, att: Attempt, spec: CallSpec, headers: Mapping[str, str],
             deadline: float | None, answer: Answer) -> UserRequest:
        """A handler's call to a dependency through its pod's SDK client: tried from the
        pod's sidecar, within the parent's propagated ``deadline`` (None: none)."""
        now = self.env.now
        if self.timeout > 0 and (deadline is None or now + self.timeout < deadline):
            deadline = now + self.timeout
        parent = att.call
        request = UserRequest(parent.request_id, att.pod.proxy, spec, deadline, answer,
                              parent.depth + 1, att)
        request.headers = headers
        request.optional = spec.optional
        self._try(request)
        return request

    # -- tries --------------------------------------------------------------------------------
    def _try(self, request: UserRequest) -> None:
        now = self.env.now
        if (self.limiter is not None and not request.token
                and (self.waiting or not self.limiter.admit(now))):
            self.waiting.append(request)  # blocked on the adaptive limiter's bucket
            self._pump_later(now)
            return
        request.token = False
        if self.breaker is not None and not self.breaker.permit(now):
            self._refused(request, now)
            return
        request.tries += 1
        per_try = self.policy.per_try_timeout
        deadline = request.deadline
        if per_try > 0 and (deadline is None or now + per_try < deadline):
            deadline = now + per_try
        tpl = request.template
        call = Call(self.sim.next_call_id(), request.request_id, request.proxy, self.host,
                    tpl.method, tpl.path, request.headers, request.depth, deadline,
                    partial(self._answered, request), request.parent, request.optional)
        request.live.append(call)
        self._row(request, call.id)
        hedging = self.policy.hedging
        if hedging is not None and request.tries < hedging.max_attempts:
            call_later(self.env, hedging.delay, self._hedge, request)
        request.proxy.send(call)

    def _row(self, request: UserRequest, call_id: int) -> None:
        """Count a row: a user request's try is an issued request (the conservation check);
        a dependency call's rows are tied to the call they try (amplification per hop)."""
        if not request.id:
            request.id = call_id
        rec = self.sim.recorder
        if request.depth == 0:
            rec.issued += 1
        else:
            rec.dependency_tries.append((call_id, request.id))

    def _pump_later(self, now: float) -> None:
        assert self.limiter is not None
        self.pump_turn += 1
        call_later(self.env, self.limiter.bucket.wait(now), self._pump, self.pump_turn)

    def _pump(self, ev: Wake) -> None:
        """Let blocked tries out while tokens last; an overall deadline passed meanwhile
        ends its request unanswered."""
        if ev.value != self.pump_turn or self.limiter is None:
            return
        now = self.env.now
        waiting = self.waiting
        while waiting:
            request = waiting[0]
            if request.deadline is not None and now >= request.deadline:
                waiting.popleft()
                self._finish(request, 0)
                continue
            if not self.limiter.bucket.take(now):
                break
            waiting.popleft()
            request.token = True
            self._try(request)
        if waiting:
            self._pump_later(now)

    def _hedge(self, ev: Wake) -> None:
        request: UserRequest = ev.value
        hedging = self.policy.hedging
        if request.done or not request.live or hedging is None:
            return  # answered, or between a failed try and its retry
        if request.tries < hedging.max_attempts:
            self._try(request)

    def _refused(self, request: UserRequest, now: float) -> None:
        rec = self.sim.recorder
        proxy = request.proxy
        call_id = self.sim.next_call_id()
        self._row(request, call_id)
        rec.call(call_id, request.request_id, proxy.code, self.sim.service_code(self.host), 0,
                 now, now, 0, rec.intern(REJECTED), 0, request.depth)
        if not request.live:
            self._finish(request, 0)

    # -- outcomes -----------------------------------------------------------------------------
    def _answered(self, request: UserRequest, call: Call) -> None:
        request.live.remove(call)
        if request.done:
            return  # a hedge that lost, cancelled below
        now = self.env.now
        ok = is_ok(call.status) and call.status != THROTTLED  # a 429 is retried, as documented
        if self.limiter is not None:
            self.limiter.answered(now, call.status == THROTTLED)
            if self.waiting:
                self._pump_later(now)  # the fill rate changed
        if self.breaker is not None:
            self.breaker.record(not ok, now)
        if ok:
            if self.tokens is not None:
                self.tokens.release(request.last_cost)
            for other in list(request.live):  # hedges still out: the app cancels them
                other.proxy.give_up(other)
            self._finish(request, call.status)
            return
        if request.live:
            return  # a hedge is still out: it may answer yet
        delay = self._retry_delay(request, call.status, now)
        if delay is None:
            self._finish(request, call.status)
        else:
            call_later(self.env, delay, self._retry, request)

    def _retry_delay(self, request: UserRequest, status: int, now: float) -> float | None:
        """The back-off before the next try, or None when this request is over."""
        if not retryable(status) or request.tries >= self.policy.attempts:
            return None
        delay = sleep(self.policy.backoff, request.tries, request.previous_sleep, self.roll())
        request.previous_sleep = delay
        if request.deadline is not None and now + delay >= request.deadline:
            return None  # no time left: no retry, and no tokens spent on one
        if self.tokens is not None:
            cost = self.tokens.acquire(timeout=status == 0)
            if cost == 0.0:
                return None
            request.last_cost = cost
        return delay

    def _retry(self, ev: Wake) -> None:
        request: UserRequest = ev.value
        parent = request.parent
        if parent is not None and parent.dead:  # the handler is gone: its app stops too
            self._finish(request, 0)
            return
        self._try(request)

    def _finish(self, request: UserRequest, status: int) -> None:
        request.done = True
        if request.depth == 0:
            self.sim.recorder.users_done.append(request.request_id)
        request.answer(status)
