"""One Envoy cluster as seen by one client proxy: hosts, balancer, breakers, connection pool
and outlier detector.

All of this state is per client proxy and per cluster (per DestinationRule subset), as in
Envoy: a sidecar's ejections, breaker counters and balancer position are its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from meshsim.model.clusters import ClusterPolicy

# cluster.pxd cimports these C types: import them from the modules that define them.
from meshsim.sim.envoy.balancers import Balancer
from meshsim.sim.envoy.breakers import ResourceManager
from meshsim.sim.envoy.host_selection import make_balancer, priority_load
from meshsim.sim.envoy.locality import Tiers, tiers_for
from meshsim.sim.envoy.outlier import OutlierDetector
from meshsim.sim.kernel import call_later
from meshsim.sim.pod import Pod

if TYPE_CHECKING:
    from meshsim.model.policy import TrafficPolicy
    from meshsim.sim.envoy.proxy import EnvoyProxy
    from meshsim.sim.envoy.upstream import Upstream
    from meshsim.sim.kernel import Kernel, Wake

IntRoll = Callable[[], int]


def _endpoint_weight(host: object) -> float:
    """An EDS endpoint's weight: 1 per pod, the remote pods' sum for an east-west gateway."""
    return float(getattr(host, "weight", 1.0))


def host_down(host: object) -> bool:
    """Whether a host is down: a pod's C field when compiled (the common host), else the
    host's own ``down`` (an east-west gateway host's is a property)."""
    if isinstance(host, Pod):
        pod: Pod = host
        return pod.down
    return bool(host.down)  # type: ignore[attr-defined]


def subset_hosts(
    policy: TrafficPolicy, service: str, subset: str | None, pods: list[Pod]
) -> list[Pod] | None:
    """EDS for one cluster: the pods carrying all of its DestinationRule subset's labels, as a
    new list; None when the policy has no such subset (503 NC)."""
    if subset is None:
        return list(pods)
    spec = policy.subsets.get((service, subset))
    if spec is None:
        return None
    return [p for p in pods if all(p.labels.get(k) == v for k, v in spec.labels.items())]


class HostPool:
    """One host's connection pool inside a cluster: its idle connections, the streams waiting
    for one, and how many connections are open (ready or being set up)."""

    __slots__ = ("active", "connections", "dequeue", "enqueue", "host", "idle", "member",
                 "pending")

    def __init__(self, host: Pod) -> None:
        self.host = host
        self.idle: list[Connection] = []
        self.pending: deque[Upstream] = deque()
        # Bound once: a direct C call per waiting stream when compiled, where a deque method
        # called by name is looked up on its type each time.
        self.enqueue = self.pending.append
        self.dequeue = self.pending.popleft
        self.connections = 0
        self.active = 0  # this proxy's open requests to the host (least request reads it)
        self.member = True  # the host is an endpoint of the cluster; a removed one drains


class Connection:
    __slots__ = ("host", "pool", "ready", "uses")

    def __init__(self, pool: HostPool) -> None:
        self.host = pool.host
        self.pool = pool  # its host's pool: no look-up per stream
        self.uses = 0
        self.ready = False


class Cluster:
    """``outbound|<port>|<subset>|<service>`` inside one sidecar."""

    def __init__(
        self, proxy: EnvoyProxy, service: str, subset: str | None, hosts: list[Pod],
        policy: ClusterPolicy, rand: IntRoll,
    ) -> None:
        self.proxy = proxy
        self._dispatch = proxy.dispatch  # bound once: called for every stream
        self.env: Kernel = proxy.env
        self.clock = self.env.clock  # ``clock.now`` is the time (a C read when compiled)
        # TCP (and mTLS) handshake: one round trip of the network (a constant of the run).
        self._handshake = 2 * proxy.sim.latency
        self._connected_fn = self._on_connected  # bound once: every new connection's Wake
        self.service = service
        self.subset = subset or ""
        self._placed = proxy.sim.topology.geography is not None
        if self._placed:
            hosts = self._split_horizon(hosts)
        self.service_code: int | None = None  # the recorder's code, cached on first use
        self.hosts = hosts
        self.policy = policy
        self.http2 = policy.http2  # read per stream; the policy is frozen
        self.breaker = ResourceManager(policy.circuit_breakers)
        self.balancer: Balancer[Pod] = make_balancer(
            policy.load_balancer, rand=rand, key=lambda p: p.name,
            weights=_endpoint_weight if self._placed else None,
        )
        self.uses_hash = self.balancer.uses_hash
        self.pools: dict[Pod, HostPool] = {h: HostPool(h) for h in hosts}
        self._active = self.open_requests  # bound once: the balancers' ``active``
        self.healthy = list(hosts)
        self.panic = False
        self.max_rpc = policy.circuit_breakers.max_requests_per_connection
        self.members = set(hosts)  # the endpoints now; removed hosts drain their streams
        self._rand = rand
        self.detector: OutlierDetector[Pod] | None = None
        if policy.outlier is not None and hosts:
            self._start_detector()
        recorder = proxy.sim.recorder
        self._ejected_level = recorder.level("ejected", service, self.subset)
        self.tiers: Tiers[Pod] | None = None  # priorities and localities (multi-cluster)
        if self._placed:
            self.tiers = self._tiers()
        self._refresh_health()

    def _split_horizon(self, hosts: list[Pod]) -> list[Pod]:
        """Multi-network EDS: remote networks' pods behind east-west gateway hosts."""
        eastwest = self.proxy.sim.eastwest
        where = getattr(self.proxy, "place", None)
        if eastwest is None or where is None:
            return hosts
        return eastwest.view(where, self.service, self.subset, hosts)  # type: ignore[return-value]

    def _tiers(self) -> Tiers[Pod] | None:
        """What pilot pushes this caller for these hosts (only with a topology)."""
        policy = self.policy
        spec = self.proxy.sim.topology.services.get(self.service)
        return tiers_for(
            self.proxy, self.hosts, setting=policy.locality, outlier=policy.outlier is not None,
            panic_threshold=policy.panic_threshold,
            traffic_distribution=spec.traffic_distribution if spec is not None else None,
        )

    def _start_detector(self) -> None:
        outlier = self.policy.outlier
        assert outlier is not None
        self.detector = OutlierDetector(
            outlier, self.hosts, rand=self._rand, on_eject=self._on_eject,
            on_uneject=self._on_uneject,
        )
        interval = outlier.interval
        # Clusters are built at config push (t=0); the timer ticks on that grid.
        first = interval * (int(self.env.now / interval) + 1)
        call_later(self.env, first - self.env.now, self._tick, interval)

    # -- membership (EDS) ----------------------------------------------------------------------
    def update_hosts(self, hosts: list[Pod]) -> None:
        """The cluster's endpoints changed. A new host gets empty pools and a fresh outlier
        monitor; a removed one leaves the balancer and the detector at once, its idle
        connections close and its busy ones close as their streams end (Envoy drains the
        removed host's pool). No random draw is made: other streams stay aligned."""
        if self._placed:
            hosts = self._split_horizon(hosts)
        removed = self.members - set(hosts)
        for host in hosts:
            if host not in self.pools:
                self.pools[host] = HostPool(host)
            self.pools[host].member = True
        self.hosts = list(hosts)
        self.members = set(hosts)
        for host in removed:
            self.pools[host].member = False
            for conn in list(self.pools[host].idle):
                self._close(conn)
        if self.detector is not None:
            now = self.env.now
            gone = len(removed & self.detector.ejected)
            if gone:
                self._ejected_level.change(now, -gone)
            self.detector.set_hosts(hosts)
        elif self.policy.outlier is not None and hosts:
            self._start_detector()
        if self._placed:
            self.tiers = self._tiers()
            self.balancer.refresh()
        self._refresh_health()

    # -- open requests -------------------------------------------------------------------------
    def open_requests(self, host: Pod) -> int:
        """This proxy's requests open on ``host`` (least request's ``active``). Counted in the
        host's pool: a C field per stream when compiled, where a dict was two look-ups."""
        pool = self.pools[host]
        return pool.active

    @property
    def active(self) -> dict[Pod, int]:
        """Open requests per host, every host seen (admin ``/clusters``; read-only)."""
        return {host: pool.active for host, pool in self.pools.items()}

    # -- health --------------------------------------------------------------------------------
    def _refresh_health(self) -> None:
        ejected = self.detector.ejected if self.detector else ()
        self.healthy = [h for h in self.hosts if h not in ejected]
        plan = priority_load(
            [len(self.healthy)], [len(self.hosts)], panic_threshold=self.policy.panic_threshold
        )
        self.panic = bool(self.hosts) and plan.panic[0]
        self.balancer.observe(self.hosts, self.healthy)
        if self.tiers is not None:
            self._refresh_tiers(self.tiers, ejected)

    def _refresh_tiers(self, tiers: Tiers[Pod], ejected: object) -> None:
        """Envoy recomputes the priority spill on every health change; a new split is an
        event (``priority-load``), as ``istioctl proxy-config`` would show it."""
        before = tiers.plan.load
        tiers.refresh(ejected)  # type: ignore[arg-type]
        self.balancer.refresh()
        after = tiers.plan.load
        if before and after != before:
            self.proxy.sim.recorder.event(
                self.env.now, "priority-load", proxy=self.proxy.name, service=self.service,
                subset=self.subset, detail=" ".join(f"P{i}={x}" for i, x in enumerate(after)),
            )

    def _tick(self, ev: Wake) -> None:
        assert self.detector is not None
        self.detector.tick(self.env.now)
        call_later(self.env, ev.value, self._tick, ev.value)

    def _on_eject(self, host: Pod, detector: str, now: float) -> None:
        self._ejected_level.change(now, 1)
        self.proxy.sim.recorder.event(
            now, "eject", proxy=self.proxy.name, service=self.service, subset=self.subset,
            pod=host.name, detail=detector,
        )
        self._refresh_health()

    def _on_uneject(self, host: Pod, now: float) -> None:
        self._ejected_level.change(now, -1)
        self.proxy.sim.recorder.event(
            now, "uneject", proxy=self.proxy.name, service=self.service, subset=self.subset,
            pod=host.name,
        )
        self._refresh_health()

    def report_status(self, host: Pod, status: int) -> None:
        detector = self.detector
        if detector is not None:
            now = self.clock.now
            # An answer: this connection was not refused (a connect success counts only in
            # split mode, so the host is not asked otherwise).
            if detector.split_local_origin and host.failures is not None:
                detector.report_local(host, "connect_success", now)
            detector.report_status(host, status, now)

    def report_local(self, host: Pod, kind: str) -> None:
        if self.detector is not None:
            self.detector.report_local(host, kind, self.clock.now)  # type: ignore[arg-type]

    # -- host selection ------------------------------------------------------------------------
    def choose(self, up: Upstream) -> Pod | None:
        """Panic routing, the balancer, and the retry host predicate (§2, §4.4, §5)."""
        if self.tiers is not None:
            return self._choose_tiered(up, self.tiers)
        source = self.hosts if self.panic else self.healthy
        if not source:
            return None
        name = "all" if self.panic else "healthy"
        retry = up.retry
        if retry is None and not self.uses_hash:  # a first attempt: one plain pick
            return self.balancer.pick_from(source, self._active, None, 0, name)
        tries = retry.host_selection_attempts + 1 if retry is not None and up.call.attempts else 1
        hash_ = up.hash if self.uses_hash else None
        if self.uses_hash and hash_ is None:
            hash_ = up.hash = self.balancer.random_hash()
        host = None
        for attempt in range(tries):  # a C loop when compiled
            host = self.balancer.pick_from(source, self._active, hash_, attempt, name)
            if host is None or retry is None or retry.accept(host):
                return host
        return host

    def _choose_tiered(self, up: Upstream, tiers: Tiers[Pod]) -> Pod | None:
        """Priorities and localities first (one draw for the priority), then the balancer."""
        retry = up.retry
        tries = retry.host_selection_attempts + 1 if retry is not None and up.call.attempts else 1
        hash_ = up.hash if self.uses_hash else None
        if self.uses_hash and hash_ is None:
            hash_ = up.hash = self.balancer.random_hash()
        return tiers.choose(self.balancer, self._rand, active=self._active, tries=tries,
                            accept=retry.accept if retry is not None else None, hash=hash_,
                            retry_priority=retry.priority if retry is not None else None)

    # -- connection pool (HTTP/1.1 unless http2) -----------------------------------------------
    def admit(self, up: Upstream, host: Pod) -> bool:
        """Attach the stream to a connection now, or leave it pending; False = overflow (UO)."""
        breaker = self.breaker
        pool = self.pools[host]
        idle = pool.idle
        if idle:
            # max_requests is checked when a stream is attached to a ready connection; a
            # stream that must wait for one is limited by max_pending_requests only.
            if not breaker.can_request():
                breaker.stats["upstream_rq_pending_overflow"] += 1
                return False
            conn = idle[-1] if self.http2 else idle.pop()
            self._attach(up, conn)
            return True
        if self.http2 and pool.connections:
            # The one multiplexed connection is still being set up: wait for it.
            if not breaker.try_pend():
                return False
            pool.enqueue(up)
            return True
        if not breaker.try_pend():
            return False
        pool.enqueue(up)
        if pool.connections == 0 or breaker.can_connect():
            # Envoy's connection limit is soft: a host with no connection always gets one.
            self._connect(pool)
        else:
            breaker.stats["upstream_cx_overflow"] += 1
        return True

    def _connect(self, pool: HostPool) -> None:
        self.breaker.inc_connections()
        pool.connections += 1
        host = pool.host
        # Connection(pool), without a Python call of the class (a C allocation when compiled).
        conn = Connection.__new__(Connection)
        conn.host = host
        conn.pool = pool
        conn.uses = 0
        conn.ready = False
        setup = self._handshake
        if self._placed and self.proxy.wire is not None:
            setup += 2 * self.proxy.wire.extra(host)  # the latency matrix's path to the host
        if setup:
            call_later(self.env, setup, self._connected_fn, conn)
        else:
            self._connected(conn)

    def _on_connected(self, ev: Wake) -> None:
        self._connected(ev.value)

    def _connected(self, conn: Connection) -> None:
        conn.ready = True
        detector = self.detector
        if detector is not None and detector.split_local_origin:
            # LocalOriginConnectSuccess: resets the local-origin counter in split mode (the
            # only mode that counts it, so the host is not asked otherwise). An app that
            # refuses some connections (an error model) shows it in its answers instead.
            host = conn.host
            if not host_down(host) and getattr(host, "failures", None) is None:
                detector.report_local(host, "connect_success", self.clock.now)
        self._release_conn(conn)

    def _attach(self, up: Upstream, conn: Connection) -> None:
        self.breaker.inc_requests()
        conn.uses += 1
        up.conn = conn
        conn.pool.active += 1
        self._dispatch(up, conn.host)

    def _release_conn(self, conn: Connection) -> None:
        """A connection is free: give it to the next pending stream, or keep it idle."""
        if self.max_rpc and conn.uses >= self.max_rpc:
            self._close(conn)
            return
        pool = conn.pool
        queue = pool.pending
        while queue and not self.breaker.can_request():
            # attachStreamToClient: the requests breaker fails the waiting stream (UO).
            self.breaker.dec_pending()
            self.breaker.stats["upstream_rq_pending_overflow"] += 1
            self.proxy.overflow(pool.dequeue())
        if queue:
            up = pool.dequeue()
            self.breaker.dec_pending()
            self._attach(up, conn)
            if self.http2:
                while queue:  # multiplexed: every waiting stream goes at once
                    nxt = pool.dequeue()
                    self.breaker.dec_pending()
                    if self.breaker.can_request():
                        self._attach(nxt, conn)
                    else:
                        self.breaker.stats["upstream_rq_pending_overflow"] += 1
                        self.proxy.overflow(nxt)
            return
        if not pool.member:
            self._close(conn)  # a removed host: its pool drains, nothing new goes there
        elif self.http2:
            if conn not in pool.idle:
                pool.idle.append(conn)
        else:
            pool.idle.append(conn)

    def _close(self, conn: Connection) -> None:
        pool = conn.pool
        self.breaker.dec_connections()
        pool.connections -= 1
        if conn in pool.idle:
            pool.idle.remove(conn)
        if pool.pending and (pool.connections == 0 or self.breaker.can_connect()):
            self._connect(pool)

    def finished(self, up: Upstream, reset: bool, broken: bool = False) -> None:
        """The stream ended. A ``reset`` stream (timeout, caller gone) closes an HTTP/1.1
        connection; a ``broken`` connection (connect failure, termination) closes either."""
        conn = up.conn
        if conn is None:
            return
        up.conn = None
        self.breaker.dec_requests()
        conn.pool.active -= 1
        if broken:
            self._close(conn)
        elif self.http2:
            self._release_conn(conn)
        elif reset or host_down(conn.host):
            self._close(conn)
        else:
            self._release_conn(conn)

    def take_pending(self) -> list[Upstream]:
        """Give up every stream waiting for a connection (the end of a run: nothing runs
        after it); the breakers' counts keep their values."""
        held: list[Upstream] = []
        for pool in self.pools.values():
            held.extend(pool.pending)
            pool.pending.clear()
        return held

    def forget_pending(self, up: Upstream, host: Pod) -> None:
        """A stream still waiting for a connection is abandoned (timeout or caller gone)."""
        pool = self.pools[host]
        queue = pool.pending
        if up in queue:
            queue.remove(up)
            self.breaker.dec_pending()
