"""The cluster's connection pools and breakers, in both builds (the compiled one keeps their
counters and limits as C fields)."""

from __future__ import annotations

from dataclasses import replace

from builders import deployment, model

from meshsim.model import Constant
from meshsim.model.clusters import CircuitBreakers, ClusterPolicy
from meshsim.model.policy import TrafficPolicy
from meshsim.sim import Simulation
from meshsim.sim.envoy.breakers import ResourceManager
from meshsim.sim.envoy.cluster import Cluster, Connection, host_down
from meshsim.sim.envoy.proxy import EnvoyProxy


def test_breaker_limits_beyond_a_c_integer_never_trip() -> None:
    """Istio's "unset" is 2^32 − 1, but a manifest may say more than any C long holds."""
    rm = ResourceManager(CircuitBreakers(2**70, 2**64, 2**63, 3))
    rm.connections = rm.pending = rm.requests = 2**40
    assert rm.can_connect() and rm.can_pend() and rm.can_request()
    assert rm.spec.max_connections == 2**70  # the spec itself is kept as written


def test_breaker_limits_trip_at_their_value() -> None:
    rm = ResourceManager(CircuitBreakers(max_connections=2, max_pending_requests=1,
                                         max_requests=3))
    assert [rm.try_connect() for _ in range(3)] == [True, True, False]
    assert [rm.try_pend() for _ in range(2)] == [True, False]
    assert [rm.try_request() for _ in range(4)] == [True, True, True, False]
    assert rm.stats["upstream_cx_overflow"] == 1
    assert rm.stats["upstream_rq_pending_overflow"] == 2


def _cluster() -> Cluster:
    m = model([deployment("reviews", latency=Constant(0.001), replicas=2)], rate=10,
              duration=1, mesh="istio")
    sim = Simulation(replace(m, policy=TrafficPolicy(default_cluster=ClusterPolicy())))
    proxy = sim.proxies["users-0"]  # the client's sidecar
    assert isinstance(proxy, EnvoyProxy)
    cluster = proxy.cluster("reviews", None)
    assert cluster is not None and len(cluster.hosts) == 2
    return cluster


def _released(cluster: Cluster, host: object) -> Connection:
    """A ready connection to ``host`` whose stream just ended."""
    pool = cluster.pools[host]
    conn = Connection(pool)
    conn.ready = True
    pool.connections += 1
    cluster.breaker.inc_connections()
    cluster._release_conn(conn)
    return conn


def test_a_removed_hosts_connection_closes_when_free_and_a_readded_one_pools_again() -> None:
    cluster = _cluster()
    kept, removed = cluster.hosts
    cluster.update_hosts([kept])
    assert cluster.pools[kept].member and not cluster.pools[removed].member
    gone = _released(cluster, removed)
    assert gone not in cluster.pools[removed].idle
    assert cluster.pools[removed].connections == 0 and cluster.breaker.connections == 0
    ok = _released(cluster, kept)
    assert list(cluster.pools[kept].idle) == [ok]

    cluster.update_hosts([kept, removed])  # back in the endpoints: its pool is used again
    assert cluster.pools[removed].member
    back = _released(cluster, removed)
    assert list(cluster.pools[removed].idle) == [back]


def test_open_requests_per_host_add_up_to_the_breakers_open_requests() -> None:
    """Each stream counts once on its host's pool (least request's ``active``) and once on
    the breaker, from attach to finish: at a run's cut-off, with streams in flight, the two
    agree for every cluster, and the admin view reads the same counts."""
    m = model([deployment("reviews", latency=Constant(0.05), replicas=3, concurrency=4)],
              rate=400, duration=0.5, mesh="istio", clients=2)
    sim = Simulation(replace(m, policy=TrafficPolicy(default_cluster=ClusterPolicy())))
    sim.run()
    in_flight = 0
    for proxy in sim.proxies.values():
        if not isinstance(proxy, EnvoyProxy):
            continue
        for cluster in proxy._clusters.values():
            if cluster is None:
                continue
            counts = cluster.active
            assert counts == {h: cluster.open_requests(h) for h in cluster.pools}
            assert min(counts.values()) >= 0
            assert sum(counts.values()) == cluster.breaker.requests
            in_flight += cluster.breaker.requests
    assert in_flight > 0  # the cut-off left streams open: the check said something


def test_host_down_reads_a_pods_flag_and_any_other_hosts_own() -> None:
    cluster = _cluster()
    pod = cluster.hosts[0]
    assert not host_down(pod)
    pod.down = True
    assert host_down(pod)

    class Remote:  # an east-west gateway host: ``down`` is its gateway's, a property
        def __init__(self) -> None:
            self.gateway_down = False

        @property
        def down(self) -> bool:
            return self.gateway_down

    remote = Remote()
    assert not host_down(remote)
    remote.gateway_down = True
    assert host_down(remote)
