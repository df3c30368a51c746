"""An Envoy sidecar applying Istio's traffic policy to a caller's outbound requests.

Order per request, as Envoy's filter chain and router run it (envoy-istio.md §4, §7-§9):
route match → fault delay, then abort (rolled once) → mirrors → weighted cluster (once) →
route timeout armed → per attempt: host selection (panic, balancer, previous-hosts predicate)
→ connection pool and breakers → per-try timeout → upstream → outlier detector → retry
decision with backoff. Overflow is immediate 503 UO, never retried, never charged to a host.

Models Envoy's router filter (envoyproxy/envoy ``source/common/router/router.cc``). Its state per
request is :class:`~meshsim.sim.envoy.upstream.Upstream`; shadows are sent by
:mod:`~meshsim.sim.envoy.mirror`, request hashes come from :mod:`~meshsim.sim.envoy.hash_policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from meshsim.model.grpc import GRPC_BASE, as_grpc, grpc_to_http
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Route
from meshsim.sim.envoy.cluster import Cluster, IntRoll, subset_hosts
from meshsim.sim.envoy.hash_policy import request_hash
from meshsim.sim.envoy.mirror import send_shadow
from meshsim.sim.envoy.retry import RETRY, Outcome, decision_flag, retry_state
from meshsim.sim.envoy.route_plan import RoutePlan, edit_headers, select_plan
from meshsim.sim.envoy.routes import host_table, route_table, routes_for_proxy
from meshsim.sim.envoy.split import live_pick
from meshsim.sim.envoy.upstream import Upstream, attempt_over, join_flags, upstream_done
from meshsim.sim.kernel import Timers, call_later
from meshsim.sim.live_routes import LiveRoute, with_live
from meshsim.sim.messages import Attempt, Call
from meshsim.sim.proxy import Proxy
from meshsim.sim.sampling import Sampler

if TYPE_CHECKING:
    from meshsim.sim.kernel import Wake
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import Mesh


class EnvoyProxy(Proxy):
    """One sidecar (or gateway) Envoy with its own per-cluster state."""

    def __init__(
        self, sim: Mesh, name: str, policy: TrafficPolicy, *, roll: Sampler,
        int_roll: IntRoll, labels: Mapping[str, str] | None = None, namespace: str = "default",
        gateway: str = "mesh", host_routes: Mapping[str, tuple[Route, ...]] | None = None,
    ) -> None:
        super().__init__(sim, name, True, roll, labels, namespace)
        self.policy = policy
        self.gateway = gateway
        self.host_routes = host_routes  # a gateway's routes by host, instead of mesh routes
        self._int = int_roll
        self._routes: dict[str, tuple[Route, ...]] = {}
        self._plans: dict[str, tuple[RoutePlan, ...]] = {}  # the same tables, compiled
        self._clusters: dict[tuple[str, str | None], Cluster | None] = {}
        self._route_timers: dict[float, Timers] = {}  # by timeout: most never fire
        self._per_try_timers: dict[float, Timers] = {}

    # -- configuration -------------------------------------------------------------------------
    def routes(self, service: str) -> tuple[Route, ...]:
        routes = self._routes.get(service)
        if routes is None:  # first request for this service: build its route table
            table = (route_table(self.policy, service) if self.host_routes is None
                     else host_table(self.host_routes, service))
            routes = routes_for_proxy(table, self.labels, self.namespace, self.gateway)
            if self.sim.live_routes:
                routes = with_live(self.sim.live_routes, service, routes)
            self._routes[service] = routes
        return routes

    def route_plans(self, service: str) -> tuple[RoutePlan, ...]:
        """:meth:`routes` of ``service`` compiled for this proxy's router, built once."""
        plans = self._plans.get(service)
        if plans is None:
            grpc = service in self.sim.grpc_services
            plans = self._plans[service] = tuple(
                [RoutePlan(route, grpc) for route in self.routes(service)])
        return plans

    def cluster(self, service: str, subset: str | None) -> Cluster | None:
        key = (service, subset)
        if key in self._clusters:
            return self._clusters[key]
        cluster = None
        pods = self.sim.endpoints.get(service)
        hosts = None if pods is None else subset_hosts(self.policy, service, subset, pods)
        if hosts is not None:
            policy = self.policy.clusters.get(key) or self.policy.default_cluster
            cluster = Cluster(self, service, subset, hosts, policy, self._int)
        self._clusters[key] = cluster
        return cluster

    def on_endpoints(self, service: str, pods: list[Pod]) -> None:
        """EDS: the clusters of ``service`` already built take its new endpoints (per subset,
        by the subset's labels); clusters built later read them from the start."""
        for (name, subset), cluster in self._clusters.items():
            if name != service or cluster is None:
                continue
            hosts = subset_hosts(self.policy, service, subset, pods)
            assert hosts is not None  # the policy is frozen: a built cluster's subset exists
            cluster.update_hosts(hosts)

    def take_in_flight(self) -> list[object]:
        """The streams waiting for a connection, in every cluster (teardown.py)."""
        held: list[object] = []
        for cluster in self._clusters.values():
            if cluster is not None:
                held.extend(cluster.take_pending())
        return held

    # -- the request path ----------------------------------------------------------------------
    def forward(self, call: Call, now: float) -> None:
        up = Upstream(call)
        call.state = up
        plans = self._plans.get(call.service)
        if plans is None:
            plans = self.route_plans(call.service)
        plan = select_plan(plans, call)
        if plan is None:
            self.finish(up, 404, "NR")
            return
        up.route = plan.route
        up.plan = plan
        if plan.direct:
            self.finish(up, plan.direct_status, "")
            return
        if plan.edits_headers:
            edit_headers(call, plan.set_headers, plan.remove_headers)
        if plan.delay_percent > 0 and self._roll() * 100.0 < plan.delay_percent:
            up.flags = "DI"
            call_later(self.env, plan.delay, self._after_delay, up)
            return
        self._route(up)

    def _after_delay(self, ev: Wake) -> None:
        up: Upstream = ev.value
        if not up.done:
            self._route(up)

    def _route(self, up: Upstream) -> None:
        plan = up.plan
        assert plan is not None
        if plan.abort_percent > 0 and self._roll() * 100.0 < plan.abort_percent:
            self.finish(up, plan.abort_status, join_flags(up.flags, "FI"))
            return  # aborted requests are never mirrored nor sent upstream
        live: LiveRoute | None = plan.live
        if live is None:
            target = plan.pick(self._roll)
            if target.edits_headers:
                edit_headers(up.call, target.set_headers, target.remove_headers)
            if not target.resolved:  # the first request to this backend through this route
                target.cluster = self.cluster(target.service, target.subset)
                target.resolved = True
            cluster: Cluster | None = target.cluster  # type: ignore[assignment]
        else:
            backend = live_pick(live, self._roll)  # the controller's weights of the moment
            if backend.set_headers or backend.remove_headers:
                edit_headers(up.call, backend.set_headers, backend.remove_headers)
            cluster = self.cluster(backend.service, backend.subset)
        if cluster is None:
            self.finish(up, 503, join_flags(up.flags, "NC"))
            return
        up.cluster = cluster
        if cluster.uses_hash:
            up.hash = request_hash(self.name, up.call, plan.route, cluster)
        self.start_attempt(up)
        if up.done:
            return  # NC, UH or an overflowed first attempt: no shadow, no route timer
        # onRequestComplete: the route timer and the shadows start once the first attempt
        # is on its way (or waiting for a connection).
        if plan.timeout > 0:
            timers = plan.route_timers
            if timers is None:
                timers = plan.route_timers = self.route_timer(plan.timeout)
            up.route_timer = timers.start(up)
        for mirror in plan.mirrors:
            if mirror.percent >= 100.0 or self._roll() * 100.0 < mirror.percent:
                send_shadow(self, up.call, mirror, plan.timeout)
        if live is not None and live.mirror_on:  # a controller's live mirror (Flagger)
            shadow = live.shadow
            if shadow.percent >= 100.0 or self._roll() * 100.0 < shadow.percent:
                send_shadow(self, up.call, shadow, plan.timeout)

    def start_attempt(self, up: Upstream) -> None:
        if up.done:
            return
        cluster = up.cluster
        assert cluster is not None
        host = cluster.choose(up)
        if host is None:
            self.finish(up, 503, join_flags(up.flags, "UH"))
            return
        if up.retry is not None:
            up.retry.host_attempted(host)
        up.host = host
        up.waiting = host
        if not cluster.admit(up, host):
            up.waiting = None
            self.overflow(up)

    def overflow(self, up: Upstream) -> None:
        """The breaker refused the stream: a local 503 UO, visible as an attempt row."""
        call = up.call
        host = up.host
        assert host is not None
        call.attempts += 1
        att = Attempt(call, host, call.attempts, self.clock.now)
        self.record_attempt(att, 503, "UO")
        self.finish(up, 503, join_flags(up.flags, "UO"))

    def dispatch(self, up: Upstream, host: Pod) -> None:
        """The stream has a connection: the attempt goes upstream (called by the cluster)."""
        up.waiting = None
        call = up.call
        if up.done:
            assert up.cluster is not None
            up.cluster.finished(up, reset=True)
            return
        call.attempts += 1
        att = Attempt(call, host, call.attempts, self.clock.now)
        call.attempt = att
        up.attempt = att
        plan = up.plan  # None for a shadow: no retries, so no per-try timeout
        if plan is not None and plan.per_try_timeout > 0:
            timers = plan.per_try_timers
            if timers is None:
                timers = plan.per_try_timers = self.per_try_timer(plan.per_try_timeout)
            up.try_timer = timers.start(att)
        self.transmit(att)

    def per_try_timer(self, timeout: float) -> Timers:
        timers = self._per_try_timers.get(timeout)
        if timers is None:
            timers = self._per_try_timers[timeout] = Timers(
                self.env, timeout, self._on_per_try_timeout, attempt_over)
        return timers

    def connect_timeout(self, att: Attempt) -> float:
        """The cluster's ``connectTimeout`` (DestinationRule ``tcp.connectTimeout``, 10 s)."""
        up = att.call.state
        cluster = getattr(up, "cluster", None)
        return cluster.policy.connect_timeout if cluster is not None else 10.0

    # -- outcomes ------------------------------------------------------------------------------
    def response(self, att: Attempt) -> None:
        if not att.abandoned:
            self._answered(att.call.state, att)  # type: ignore[arg-type]

    def _answered(self, up: Upstream, att: Attempt) -> None:
        """An attempt's answer (or connection failure): the cluster and its outlier detector
        hear of it, then the retry decision. (Apart from :meth:`response`, a hook the proxy
        base declares, so that ``up`` is typed: C reads in the compiled build.)"""
        cluster = up.cluster
        assert cluster is not None
        up.attempt = None
        if up.try_timer >= 0:
            self._end_try(up)
        broken = att.flags in ("UF", "UC")
        cluster.finished(up, broken, broken)
        self.record_attempt(att, att.status, att.flags)
        status, flags = att.status, att.flags
        if flags == "UF":
            cluster.report_local(att.pod, "connect_failed")
            outcome: Outcome = "connect_failure"
        elif flags in ("UC", "UR"):  # connection terminated, or the stream reset (§1: 503)
            cluster.report_local(att.pod, "connect_failed")
            outcome = "remote_reset"
        else:
            # A gRPC answer: the router tells the outlier detector grpcToHttpStatus(grpc-status).
            cluster.report_status(
                att.pod, status if status < GRPC_BASE else grpc_to_http(status - GRPC_BASE))
            outcome = status
        self._decide(up, outcome, status, join_flags(up.flags, flags) if up.flags else flags)

    def _decide(self, up: Upstream, outcome: Outcome, status: int, flags: str) -> None:
        retry = up.retry
        if retry is None:
            plan = up.plan  # None for a shadow: never retried
            if plan is None or plan.retry_on is None or not plan.retry_on.matches(outcome):
                self.finish(up, status, flags)  # the common case: no retry state needed
                return
            # First failure worth retrying: Envoy's retry state, as it would be by now.
            cluster = up.cluster
            assert cluster is not None and up.host is not None
            retry = up.retry = retry_state(plan.retry_on, cluster.breaker, self._int)
            retry.host_attempted(up.host)
        decided = retry.decide(outcome)
        if decided != RETRY:
            self.finish(up, status, join_flags(flags, decision_flag(decided)))
        elif retry.delay > 0:
            call_later(self.env, retry.delay, self._on_retry, up)
        else:
            self.start_attempt(up)

    def _on_retry(self, ev: Wake) -> None:
        self.start_attempt(ev.value)

    def _on_per_try_timeout(self, ev: Wake) -> None:
        att: Attempt = ev.value
        if attempt_over(att):
            return
        up: Upstream = att.call.state  # type: ignore[assignment]
        self._reset_attempt(up, att)
        self._decide(up, "per_try_timeout", 504, join_flags(up.flags, "UT"))

    def _end_try(self, up: Upstream) -> None:
        """The attempt's per-try timer is over (answered, reset or the request done): let go
        of it, so that the attempt is freed now (``Timers.let_go``)."""
        up.plan.per_try_timers.let_go(up.try_timer)  # type: ignore[union-attr]
        up.try_timer = -1

    def route_timer(self, timeout: float) -> Timers:
        timers = self._route_timers.get(timeout)
        if timers is None:
            timers = self._route_timers[timeout] = Timers(
                self.env, timeout, self._on_route_timeout, upstream_done)
        return timers

    def _on_route_timeout(self, ev: Wake) -> None:
        up: Upstream = ev.value
        if up.done:
            return
        if up.attempt is not None:
            self._reset_attempt(up, up.attempt)
        elif up.waiting is not None and up.cluster is not None:
            up.cluster.forget_pending(up, up.waiting)
            up.waiting = None
        self.finish(up, 504, join_flags(up.flags, "UT"))

    def _reset_attempt(self, up: Upstream, att: Attempt) -> None:
        """A timeout resets the upstream stream: charged to the host as a 504, work goes on."""
        cluster = up.cluster
        assert cluster is not None
        up.attempt = None
        if up.try_timer >= 0:
            self._end_try(up)
        self.abandon(att, 504, "UT")
        cluster.finished(up, reset=True)
        cluster.report_local(att.pod, "timeout")

    def give_up(self, call: Call) -> None:
        up = call.state
        if not isinstance(up, Upstream):
            super().give_up(call)
            return
        self._give_up(up)

    def _give_up(self, up: Upstream) -> None:
        """:meth:`give_up` of a routed request (``up`` typed: C reads in the compiled build)."""
        if up.done:
            return
        cluster = up.cluster
        if up.attempt is not None and cluster is not None:
            att = up.attempt
            up.attempt = None
            self.abandon(att, 0, "DC")
            cluster.finished(up, reset=True)
        elif up.waiting is not None and cluster is not None:
            cluster.forget_pending(up, up.waiting)
            up.waiting = None
        self.finish(up, 0, join_flags(up.flags, "DC"))

    def finish(self, up: Upstream, status: int, flags: str) -> None:
        if up.done:
            return
        up.done = True
        if up.retry is not None:
            up.retry.release()
        if up.route_timer >= 0:  # its route timer is over: free ``up`` now
            up.plan.route_timers.let_go(up.route_timer)  # type: ignore[union-attr]
            up.route_timer = -1
        if up.try_timer >= 0:
            self._end_try(up)
        subset = up.host.subset_code if up.host is not None else 0
        service = None
        cluster = up.cluster
        if cluster is not None:
            service = cluster.service_code
            if service is None:  # the first request through this cluster
                service = cluster.service_code = self.sim.service_code(cluster.service)
        plan = up.plan
        if plan.grpc if plan is not None else up.call.service in self.sim.grpc_services:
            status = as_grpc(status)  # a local reply to a gRPC caller: 200 with grpc-status
        self.complete(up.call, status, flags, subset, service)
