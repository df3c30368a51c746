"""Bounded inputs (issue 10 item 5): every size has a limit checked at load, located, saying the
limit and why; non-finite numbers and YAML booleans read as counts are refused; manifest globs
follow no symlink loop; loading stays linear in the number of manifests."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from meshsim.config import Scenario, limits, load_scenario
from meshsim.config.manifests import Manifest
from meshsim.config.schema import ScenarioDocument
from meshsim.config.yamlsrc import load_stream
from meshsim.errors import ScenarioError

Loader = Callable[..., Scenario]  # the `load` fixture of conftest.py


def _error(load: Loader, text: str, overrides: dict[str, object] | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(text, overrides)
    return info.value


# -- sizes in the scenario document ------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "value", "limit"),
    [
        ("spec.services.ratings.replicas", 1_000_000_000, limits.REPLICAS),
        ("spec.services.ratings.replicas", 50_000_000, limits.REPLICAS),
        ("spec.services.ratings.replicas", "'1000000000'", limits.REPLICAS),
        ("spec.services.ratings.concurrency", 10**9, limits.CONCURRENCY),
        ("spec.services.ratings.queue", 10**12, limits.QUEUE),
        ("spec.workload[0].clients", 1_000_000_000, limits.CLIENTS),
        ("spec.workload[0].rate", "1e12/s", limits.RATE),
        ("spec.duration", "48h", limits.DURATION),
        ("spec.workload[0].timeout", "100000s", limits.DURATION),
    ],
)
def test_each_size_over_its_limit_is_one_located_error_with_the_reason(
    load: Loader, base: str, path: str, value: object, limit: limits.Limit
) -> None:
    started = time.perf_counter()
    error = _error(load, base, {path: value})
    assert time.perf_counter() - started < 5  # refused at load, not after building pods
    assert error.location.path == path
    assert f"over meshsim's limit of {limit.show(limit.maximum)}" in error.message
    assert limit.why in error.message


def test_a_written_size_is_located_at_its_line(load: Loader, base: str) -> None:
    error = _error(load, base.replace("replicas: 2", "replicas: 1000000000"))
    assert (error.location.line, error.location.path) == (11, "spec.services.ratings.replicas")


def test_the_total_number_of_pods_is_bounded(load: Loader, base: str) -> None:
    services = "".join(
        f"    s{i}:\n      replicas: 1000\n      latency: exponential(5ms)\n" for i in range(11)
    )
    text = base.replace("  services:\n", "  services:\n" + services, 1)
    error = _error(load, text)
    assert error.location.path == "spec.services"
    assert "11,003 is over meshsim's limit of 10,000 pods" in error.message


def test_lists_and_maps_are_bounded_before_their_items_are_validated(
    load: Loader, base: str
) -> None:
    steps = [{"at": f"{i}ms", "rate": "1/s"} for i in range(10_001)]
    error = _error(load, base, {"spec.workload[0].rate": steps})
    assert "10,001 is over meshsim's limit of 10,000 schedule steps" in error.message
    nested: object = [{"service": "ratings"}]
    for _ in range(9):
        nested = [{"parallel": nested}]
    error = _error(load, base, {"spec.services.frontend.calls": nested})
    assert "levels of nested parallel calls" in error.message


def test_limits_are_in_the_generated_schema() -> None:
    """The scenario-format reference is generated from the schema: the limits must be there."""
    spec = ScenarioDocument.model_json_schema()["$defs"]
    replicas = spec["ServiceSpec"]["properties"]["replicas"]["anyOf"][0]
    assert replicas["maximum"] == limits.REPLICAS.maximum
    assert replicas["x-limit"] == limits.REPLICAS.why
    clients = spec["WorkloadSpec"]["properties"]["clients"]
    assert clients["maximum"] == limits.CLIENTS.maximum
    assert spec["ScenarioSpec"]["properties"]["services"]["maxProperties"] == 1_000


# -- booleans and non-finite numbers -----------------------------------------------------------
@pytest.mark.parametrize("value", ["true", "yes", "on"])
def test_a_yaml_boolean_is_not_a_count(load: Loader, base: str, value: str) -> None:
    error = _error(load, base.replace("replicas: 2", f"replicas: {value}"))
    assert error.location.path == "spec.services.ratings.replicas"
    assert "expected a whole number, got true" in error.message


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.duration", "1e400s"),
        ("spec.workload[0].rate", "1e400/s"),
        ("spec.services.ratings.replicas", ".inf"),
        ("spec.services.ratings.labels", "{tier: .nan}"),
        ("spec.services.ratings.contention", "{model: inflight, factor: .nan}"),
        ("spec.workload[0].request", "{weight: .inf}"),
    ],
)
def test_non_finite_numbers_are_refused_where_they_are(
    load: Loader, base: str, path: str, value: str
) -> None:
    error = _error(load, base, {path: value})
    assert error.location.path.startswith(path)
    assert "finite" in error.message


def test_non_finite_slo_bound_and_latency_factor_are_refused(load: Loader, base: str) -> None:
    text = base + "  expect:\n    - {metric: p99, service: frontend, max: .inf}\n"
    assert "finite" in _error(load, text).message
    text = base + "  faults:\n    - {at: 1s, for: 1s, target: ratings, latency: xnan}\n"
    assert "finite" in _error(load, text).message


def test_non_finite_numbers_in_manifests_are_refused(load: Loader, base: str) -> None:
    text = base.replace("spec:\n", "spec:\n  mesh: istio\n", 1) + (
        "---\napiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
        "metadata: {name: ratings}\nspec:\n  host: ratings\n"
        "  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}, outlierDetection: "
        "{maxEjectionPercent: .nan}}\n"
    )
    error = _error(load, text)
    assert error.location.line == 24
    assert error.location.path == "spec.trafficPolicy.outlierDetection.maxEjectionPercent"


def test_sizes_inside_manifests_are_bounded(load: Loader, base: str) -> None:
    text = base.replace("spec:\n", "spec:\n  mesh: istio\n", 1) + (
        "---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
        "metadata: {name: ratings}\nspec:\n  hosts: [ratings]\n  http:\n"
        "    - route: [{destination: {host: ratings}}]\n"
        "      retries: {attempts: 1000000000}\n"
    )
    error = _error(load, text)
    assert error.location.path == "spec.http[0].retries.attempts"
    assert "over meshsim's limit of 100 retry attempts" in error.message


# -- YAML and files ----------------------------------------------------------------------------
def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(ScenarioError, match="YAML nodes in one document"):
        load_stream("\n".join(lines), "bomb.yaml")


def test_a_data_dump_is_refused_while_streaming_before_it_is_composed() -> None:
    text = "apiVersion: meshsim/v1alpha1\nkind: Scenario\nspec:\n  x: [" + "1," * 2_000_000 + "1]\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match="over meshsim's limit of 250,000 YAML nodes") as info:
        load_stream(text, "dump.yaml")
    assert time.perf_counter() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB
    assert info.value.location.line == 4


def test_a_self_referencing_alias_is_refused() -> None:
    with pytest.raises(ScenarioError, match="contains it"):
        load_stream("a: &a [1, *a]\n", "loop.yaml")


def test_deep_nesting_is_one_error_not_a_recursion_error() -> None:
    with pytest.raises(ScenarioError, match="nested too deeply"):
        load_stream("a: " + "[" * 5000 + "]" * 5000, "deep.yaml")


def test_a_device_or_oversized_file_is_refused_without_reading_it_all(
    load: Loader, base: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as stream:
        stream.truncate(int(limits.FILE_BYTES.maximum) + 10)
    text = base.replace("spec:\n", "spec:\n  mesh: istio\n  manifests: [big.yaml]\n", 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    error = _error(load, text)
    assert "larger than meshsim's limit of 16 MiB" in error.message
    assert error.location.file == str(big)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB


def test_a_recursive_glob_follows_no_symlink_loop(
    load: Loader, base: str, tmp_path: Path
) -> None:
    (tmp_path / "m" / "a").mkdir(parents=True)
    for name in ("up", "again"):  # two loops: a glob that follows them never ends
        os.symlink("..", tmp_path / "m" / "a" / name)
    (tmp_path / "m" / "a" / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n"
    )
    text = base.replace("spec:\n", "spec:\n  mesh: istio\n  manifests: ['m/**/*.yaml']\n", 1)
    started = time.perf_counter()
    scenario = load(text)
    assert time.perf_counter() - started < 10
    assert [m.key for m in scenario.manifests] == ["Namespace/prod"]
    assert scenario.manifest_files == (str(tmp_path / "m" / "a" / "ns.yaml"),)


def test_recursive_glob_matches_as_glob_does(load: Loader, base: str, tmp_path: Path) -> None:
    for folder in ("m", "m/x", "m/x/y", "m/.hidden"):
        (tmp_path / folder).mkdir(exist_ok=True)
    for i, folder in enumerate(("m", "m/x", "m/x/y", "m/.hidden")):
        (tmp_path / folder / f"ns{i}.yaml").write_text(
            f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: n{i}}}\n"
        )
    (tmp_path / "m" / "x" / "notes.txt").write_text("not yaml")
    text = base.replace("spec:\n", "spec:\n  mesh: istio\n  manifests: ['m/**/*.yaml']\n", 1)
    assert [m.name for m in load(text).manifests] == ["n0", "n1", "n2"]


# -- linear loading ----------------------------------------------------------------------------
def test_loading_never_compares_manifests_pairwise(
    load: Loader, base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading 8k manifests took 16 s: each one was looked up by equality in a list."""
    (tmp_path / "m").mkdir()
    for i in range(300):
        (tmp_path / "m" / f"x{i:03d}.yaml").write_text(
            "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
            f"metadata: {{name: dr{i}}}\nspec: {{host: ratings}}\n"
        )
    comparisons = 0
    original = Manifest.__eq__

    def counting(self: Manifest, other: object) -> bool:
        nonlocal comparisons
        comparisons += 1
        return original(self, other)

    monkeypatch.setattr(Manifest, "__eq__", counting)
    text = base.replace("spec:\n", "spec:\n  mesh: istio\n  manifests: ['m/*.yaml']\n", 1)
    assert len(load(text).manifests) == 300
    assert comparisons < 300


# -- sizes that multiply -----------------------------------------------------------------------
def _services(count: int, body: Callable[[int], str]) -> str:
    return "".join(f"    s{i}:\n      latency: exponential(1ms)\n{body(i)}" for i in range(count))


def test_a_long_call_chain_is_a_located_limit_not_a_recursion_error(load: Loader) -> None:
    chain = _services(1000, lambda i: f"      calls: [s{i + 1}]\n" if i < 999 else "")
    text = (
        "apiVersion: meshsim/v1alpha1\nkind: Scenario\nspec:\n  duration: 10s\n  services:\n"
        f"{chain}  workload:\n    - {{name: users, target: s0, rate: 1/s}}\n"
    )
    error = _error(load, text)
    assert error.location.path == "spec.services.s0.calls"
    assert "s0 → s1 → s2 → ... → s999: 1,000 is over meshsim's limit of 100 services on one " \
        "call path" in error.message


def test_fault_targets_resolve_in_linear_time(load: Loader) -> None:
    """Each pod-named fault target rebuilt every pod name: 2k faults on 10k pods took 136 s."""
    services = _services(10, lambda i: "      replicas: 1000\n")
    faults = "".join(
        f"    - {{at: 1s, for: 1s, target: s{i % 10}-{i % 1000}, down: true}}\n"
        for i in range(2000)
    )
    text = (
        "apiVersion: meshsim/v1alpha1\nkind: Scenario\nspec:\n  duration: 10s\n  services:\n"
        f"{services}  workload:\n    - {{name: users, target: s0, rate: 1/s}}\n"
        f"  faults:\n{faults}"
    )
    started = time.perf_counter()
    scenario = load(text)
    assert time.perf_counter() - started < 20
    assert scenario.model.faults[1234].target.pod == "s4-234"


def test_devices_and_fifos_are_refused_not_read(load: Loader, base: str, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it would block until a writer comes
    text = base.replace("spec:\n", "spec:\n  mesh: istio\n  manifests: [pipe.yaml]\n", 1)
    assert "matches only" in _error(load, text).message
    assert "which is not a regular file" in _error(load, text).message
    with pytest.raises(ScenarioError, match="scenario file is not a regular file"):
        load_scenario(tmp_path / "pipe.yaml")
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(Path("/dev/zero"))


@pytest.mark.parametrize("name", ["../../etc/x", "a/b", "a" * 101, ".hidden"])
def test_a_scenario_name_cannot_leave_the_runs_directory(
    load: Loader, base: str, name: str
) -> None:
    error = _error(load, base, {"metadata.name": name})
    assert error.location.path == "metadata.name"
    assert "is not a usable scenario name" in error.message


def test_names_pods_are_built_from_hold_a_dns_label(load: Loader, base: str) -> None:
    error = _error(load, base, {"spec.workload[0].name": "w" * 64})
    assert "longer than 63 characters" in error.message
    assert load(base, {"spec.workload[0].name": "w" * 63}).model.workloads[0].name == "w" * 63
