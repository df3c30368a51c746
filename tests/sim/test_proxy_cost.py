"""The proxy cost model against the projects' published benchmark setups (mesh-cost.md) and
queueing closed forms: CPU per 1000 rps, memory, added latency, and a CPU limit as a queue."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshsim
from meshsim.config.cost_profiles import SIDECARS
from meshsim.errors import ScenarioError
from meshsim.model.cost import CostModel, ProxyCost
from meshsim.sim.proxy_cpu import ProxyCpu

BENCH = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {{name: bench}}
spec:
  mesh: {mesh}
  duration: {duration}
  warmup: 1s
  seed: {seed}
  network: {{latency: 0ms}}
  proxy: {proxy}
  services:
    server: {{replicas: 1, concurrency: 256, latency: constant(1ms)}}
  workload:
    - {{name: client, target: server, rate: {rate}/s, arrival: {arrival}, clients: 1}}
"""


def bench(tmp_path: Path, *, mesh: str = "istio", proxy: str = "{}", rate: int = 1000,
          arrival: str = "constant", duration: str = "11s", seed: int = 1) -> meshsim.Results:
    path = tmp_path / f"bench-{mesh}-{rate}-{abs(hash(proxy))}.yaml"
    path.write_text(BENCH.format(mesh=mesh, proxy=proxy, rate=rate, arrival=arrival,
                                 duration=duration, seed=seed))
    return meshsim.simulate(meshsim.load(path))


def per_proxy(results: meshsim.Results, name: str) -> dict[str, float]:
    frame = results.proxy_cost.set_index("proxy")
    return {str(k): v for k, v in frame.loc[name].to_dict().items()}


# -- Istio 1.24's page [S14]: 500-1500 rps, 1 KB, mTLS: sidecar 0.20 vCPU / 1000 rps, 60 MB ------
@pytest.mark.parametrize("rate", [500, 1000, 1500])
def test_istio_1_24_sidecar_cpu_and_memory_per_1000_rps(tmp_path: Path, rate: int) -> None:
    results = bench(tmp_path, proxy="{cost: {profile: istio-1.24}}", rate=rate)
    for proxy in ("client-0", "server-0"):
        row = per_proxy(results, proxy)
        vcpu_per_krps = row["cpu_cores"] / (rate / 1000)
        assert vcpu_per_krps == pytest.approx(0.20, rel=0.05)  # the page's 0.20 vCPU
        assert row["memory_mb"] == pytest.approx(60)
    total = results.data_plane_cost
    assert total["proxies"] == 2
    assert total["cpu_cores"] == pytest.approx(2 * 0.20 * rate / 1000, rel=0.05)


# -- Istio 1.20's page [S12]: 1000 rps, 1 KB, mTLS: +0.228 ms p90 / +0.298 ms p99 client+server ----
def test_istio_1_20_added_latency_within_the_published_figures(tmp_path: Path) -> None:
    """fortio paces requests evenly (``uniform``), as ``arrival: constant`` does."""
    base = bench(tmp_path, mesh="none", seed=3)
    meshed = bench(tmp_path, proxy="{cost: {profile: istio-1.20}}", seed=3)
    added = {q: float(meshed.workloads[q].iloc[0] - base.workloads[q].iloc[0])
             for q in ("p90", "p99")}
    assert added["p90"] == pytest.approx(0.228e-3, rel=0.10)
    assert added["p90"] <= added["p99"] <= 0.298e-3  # at most the published p99
    row = per_proxy(meshed, "client-0")
    assert row["cpu_cores"] == pytest.approx(0.5, rel=0.05)  # 0.5 vCPU per 1000 rps


# -- Istio 1.22 ambient L4 [S13]: two ztunnels add 0.17 ms p90 ---------------------------------
def test_ambient_l4_two_ztunnels_add_the_published_p90(tmp_path: Path) -> None:
    base = bench(tmp_path, mesh="none", seed=5)
    ambient = bench(tmp_path, proxy="{cost: {profile: istio-1.24, mode: ambient, nodes: 2}}",
                    seed=5)
    added = float(ambient.workloads["p90"].iloc[0] - base.workloads["p90"].iloc[0])
    assert added == pytest.approx(0.17e-3, rel=0.05)
    roles = set(ambient.proxy_cost["role"])
    assert roles == {"ztunnel"}
    assert ambient.proxy_cost["memory_mb"].sum() == pytest.approx(2 * 12)


def test_a_waypoint_adds_its_cpu_and_a_network_hop(tmp_path: Path) -> None:
    results = bench(tmp_path, proxy="{cost: {mode: ambient, waypoint: true}}")
    by_role = results.proxy_cost.groupby("role")["cpu_cores"].sum()
    # per mesh request: 2 x 0.06 ms (ztunnels) + 0.25 ms (waypoint) = 0.37 ms [S14, derived]
    assert by_role.sum() == pytest.approx(0.37, rel=0.05)
    assert by_role["waypoint"] == pytest.approx(0.25, rel=0.05)


# -- Linkerd vs Istio in one study (Buoyant Nov 2021 [S19]): proxy CPU 36 vs 67 ms -------------
def test_linkerd_2_11_to_istio_cpu_ratio_is_the_studys(tmp_path: Path) -> None:
    linkerd = bench(tmp_path, mesh="linkerd", proxy="{cost: {}}")
    istio = bench(tmp_path, proxy="{cost: {profile: istio-1.9}}")
    ratio = linkerd.data_plane_cost["cpu_cores"] / istio.data_plane_cost["cpu_cores"]
    assert ratio == pytest.approx(36 / 67, rel=0.02)
    assert linkerd.proxy_cost["memory_mb"].iloc[0] == pytest.approx(26.3)
    assert set(linkerd.proxy_cost["workers"]) == {1}  # linkerd2-proxy's default


def test_plaintext_istio_drops_the_mtls_share(tmp_path: Path) -> None:
    mtls = bench(tmp_path, proxy="{cost: {profile: istio-1.20}}")
    plain = bench(tmp_path, proxy="{cost: {profile: istio-1.20, mtls: false}}")
    ratio = mtls.data_plane_cost["cpu_seconds"] / plain.data_plane_cost["cpu_seconds"]
    assert ratio == pytest.approx(1.12, rel=0.01)  # istio/tools PR #618: mTLS +12 % CPU
    gap = float(mtls.workloads["p50"].iloc[0] - plain.workloads["p50"].iloc[0])
    assert gap == pytest.approx(0.23e-3, rel=0.01)  # istio #22416: +0.23 ms p50, 8 conns


def test_keep_alive_off_pays_a_handshake_per_request(tmp_path: Path) -> None:
    """LiveWyer ran keep-alive off [S23]: every request opens a connection."""
    kept = bench(tmp_path, proxy="{cost: {}}", rate=200)
    fresh = bench(tmp_path, proxy="{cost: {keepAlive: false}}", rate=200)
    row = per_proxy(fresh, "client-0")
    assert row["handshakes"] == row["requests"]
    assert per_proxy(kept, "client-0")["handshakes"] == 1
    gap = float(fresh.workloads["p50"].iloc[0] - kept.workloads["p50"].iloc[0])
    assert gap == pytest.approx(2 * 0.5e-3, rel=0.01)  # client and server handshakes


# -- a CPU limit becomes queueing ----------------------------------------------------------------
def test_a_cpu_limited_sidecar_is_an_m_d_1_queue(tmp_path: Path) -> None:
    """One worker at half a core, 0.5 ms CPU per request: D = 1 ms; Poisson 500/s: rho = 0.5,
    Pollaczek-Khinchine Wq = rho D / (2 (1 - rho)) = 0.5 ms."""
    proxy = "{cost: {cpuPerRequest: 0.5ms, cpuLimit: 0.5, workers: 1, payload: 0}}"
    results = bench(tmp_path, proxy=proxy, rate=500, arrival="poisson", duration="61s")
    row = per_proxy(results, "client-0")
    assert row["utilization"] == pytest.approx(0.5, rel=0.03)
    assert row["wait_mean"] == pytest.approx(0.5e-3, rel=0.10)


def test_a_saturated_sidecar_shows_in_latency(tmp_path: Path) -> None:
    """Linkerd's single worker past its capacity (1 / 1 ms = 1000 rps) queues without bound;
    Istio's two workers at the same CPU per request still keep up."""
    proxy = "{cost: {cpuPerRequest: 1ms, payload: 0}}"
    linkerd = bench(tmp_path, mesh="linkerd", proxy=proxy, rate=1200, duration="6s")
    istio = bench(tmp_path, proxy=proxy, rate=1200, duration="6s")
    assert float(linkerd.workloads["p50"].iloc[0]) > 0.1  # seconds of backlog
    assert float(istio.workloads["p99"].iloc[0]) < 5e-3


# -- unit: the queue ----------------------------------------------------------------------------
def test_fifo_over_c_workers_assigns_the_earliest_free() -> None:
    cost = ProxyCost(cpu_per_request=1.0, latency=0.0, memory=0.0, workers=2)
    cpu = ProxyCpu("p", "sidecar", "s", cost, CostModel("x", "sidecar", cost, payload=0))
    waits = [cpu.wait(0.0, "a") for _ in range(5)]
    assert waits == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert cpu.cpu_seconds() == 5.0


# -- off by default, errors --------------------------------------------------------------------
def test_without_a_cost_block_there_is_no_cost_table(tmp_path: Path) -> None:
    results = bench(tmp_path)
    assert results.proxy_cost.empty
    assert results.model.cost is None
    assert results.data_plane_cost["cpu_seconds"] == 0.0


@pytest.mark.parametrize(("mesh", "proxy", "message"), [
    ("none", "{cost: {}}", "needs a mesh"),
    ("linkerd", "{cost: {profile: istio-1.24}}", "not a linkerd release"),
    ("linkerd", "{cost: {mode: ambient}}", "ambient mode is Istio's"),
    ("istio", "{cost: {profile: istio-9.9}}", "expected one of"),
])
def test_bad_cost_blocks_are_located_errors(tmp_path: Path, mesh: str, proxy: str,
                                            message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BENCH.format(mesh=mesh, proxy=proxy, rate=10, arrival="constant",
                                 duration="2s", seed=1))
    with pytest.raises(ScenarioError, match=message) as info:
        meshsim.load(path)
    assert "spec.proxy.cost" in str(info.value)


def test_every_profile_is_a_named_release() -> None:
    for name, (cost, source) in SIDECARS.items():
        assert name.split("-")[0] in ("istio", "linkerd")
        assert cost.cpu_per_request > 0 and cost.memory > 0 and "[S" in source


def test_the_run_directory_keeps_the_cost_table(tmp_path: Path) -> None:
    results = bench(tmp_path, proxy="{cost: {}}", rate=100, duration="3s")
    stored = meshsim.load_run(results.save(tmp_path / "run", plots=False))
    assert list(stored.proxy_cost["proxy"]) == list(results.proxy_cost["proxy"])
    assert stored.proxy_cost["cpu_seconds"].sum() == pytest.approx(
        results.data_plane_cost["cpu_seconds"])
    plain = meshsim.load_run(bench(tmp_path, rate=100, duration="3s").save(tmp_path / "plain",
                                                                           plots=False))
    assert plain.proxy_cost.empty
