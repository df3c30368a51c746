"""The catalogue of malformed scenarios (tests/fixtures/config/bad): one clear line each.

Every case pins the file, the line, the YAML path and the words a user needs (DESIGN §8).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from paths import FIXTURES

from meshsim.config import Scenario, load_scenario
from meshsim.errors import ScenarioError

Loader = Callable[..., Scenario]  # the `load` fixture of conftest.py

BAD = FIXTURES / "config" / "bad"

# fixture → (file the error is in, line, YAML path, words the message must contain)
CASES: dict[str, tuple[str, int | None, str, tuple[str, ...]]] = {
    "malformed_yaml": ("malformed_yaml.yaml", 12, "", ("malformed YAML", "mapping values")),
    "duplicate_key": ("duplicate_key.yaml", 13, "spec.services.ratings.replicas",
                      ("duplicate key 'replicas'", "line 11")),
    "unknown_spec_field": ("unknown_spec_field.yaml", 5, "spec.duraton",
                           ("unknown field; did you mean 'duration'?",)),
    "unknown_service_field": ("unknown_service_field.yaml", 12,
                              "spec.services.ratings.concurency",
                              ("unknown field; did you mean 'concurrency'?",)),
    "unknown_workload_field": ("unknown_workload_field.yaml", 17, "spec.workload[0].clents",
                               ("unknown field; did you mean 'clients'?",)),
    "version_field_typo": ("version_field_typo.yaml", 13,
                           "spec.services.ratings.versions.v2.latncy",
                           ("did you mean 'latency'?",)),
    "bare_number_duration": ("bare_number_duration.yaml", 5, "spec.duration",
                             ("bare number 300", "'300s'")),
    "duration_sec": ("duration_sec.yaml", 17, "spec.workload[0].timeout",
                     ("expected a duration", "'5 sec'")),
    "rate_without_unit": ("rate_without_unit.yaml", 16, "spec.workload[0].rate",
                          ("rate", "'400/s'")),
    "lognormal_p99": ("lognormal_p99.yaml", 12, "spec.services.ratings.latency",
                      ("p99 (40ms) must be greater than its median (50ms)",)),
    "probability_too_big": ("probability_too_big.yaml", 12, "spec.services.ratings.errors",
                            ("between 0 and 1", "1.5")),
    "warmup_ge_duration": ("warmup_ge_duration.yaml", 6, "spec.warmup",
                           ("must be shorter than the duration",)),
    "call_missing_service": ("call_missing_service.yaml", 9,
                             "spec.services.frontend.calls[1].service",
                             ("unknown service 'detials'",)),
    "fault_missing_pod": ("fault_missing_pod.yaml", 18, "spec.faults[0].target",
                          ("'ratings-2' is not a service, service/version or pod",
                           "did you mean 'ratings-1'?")),
    "expect_missing_subset": ("expect_missing_subset.yaml", 18, "spec.expect[0].subset",
                              ("ratings has no version 'v2'",)),
    "workload_target_missing": ("workload_target_missing.yaml", 15, "spec.workload[0].target",
                                ("'frontpage' is not a service", "did you mean 'frontend'?")),
    "two_scenarios": ("two_scenarios.yaml", 18, "", ("second Scenario document", "line 1")),
    "no_scenario": ("no_scenario.yaml", 1, "", ("no Scenario document", "kind: Scenario")),
    "unknown_manifest_kind": ("unknown_manifest_kind.yaml", 20, "",
                              ("unknown kind 'VirtualSvc'", "did you mean 'VirtualService'?")),
    "linkerd_under_istio": ("linkerd_under_istio.yaml", 20, "",
                            ("ServiceProfile is a Linkerd manifest but spec.mesh is istio",)),
    "istio_under_none": ("istio_under_none.yaml", 19, "",
                         ("DestinationRule is an Istio manifest but spec.mesh is none",
                          "set spec.mesh: istio")),
    "glob_matches_nothing": ("glob_matches_nothing.yaml", 8, "spec.manifests[1]",
                             ("'nothing-here/*.yaml' matches no file",)),
    "call_cycle": ("call_cycle.yaml", 14, "spec.services.ratings.calls[0].service",
                   ("call cycle frontend → ratings → frontend", "recurse forever")),
    "clients_zero": ("clients_zero.yaml", 17, "spec.workload[0].clients",
                     ("must be at least 1", "got 0")),
    "mesh_typo": ("mesh_typo.yaml", 5, "spec.mesh", ("'istoi'", "did you mean 'istio'?")),
    "unknown_distribution": ("unknown_distribution.yaml", 8, "spec.services.frontend.latency",
                             ("unknown distribution 'lognorm'", "did you mean 'lognormal'?")),
    "slo_min_above_max": ("slo_min_above_max.yaml", 18, "spec.expect[0].min",
                          ("min (0.99) is greater than max (0.5)",)),
    "window_past_end": ("window_past_end.yaml", 20, "spec.expect[0].window",
                        ("window ends after the run (60s)",)),
    "gamma_cv_zero": ("gamma_cv_zero.yaml", 8, "spec.services.frontend.latency",
                      ("gamma cv must be greater than zero",)),
    "replicas_zero": ("replicas_zero.yaml", 11, "spec.services.ratings.replicas",
                      ("at least 1 replica",)),
    "empirical_bad_row": ("samples_bad.csv", 4, "spec.services.ratings.latency",
                          ("expected a number or a duration", "'fast'")),
    "call_entry_both": ("call_entry_both.yaml", 10, "spec.services.frontend.calls[0]",
                        ("parallel entry takes only 'parallel'", "'path'")),
}


def _assert_one_clean_line(error: ScenarioError) -> str:
    text = str(error)
    assert "\n" not in text
    for leak in ("Traceback", "pydantic", "errors.pydantic.dev", "Input should", "Value error"):
        assert leak not in text
    return text


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_gives_one_located_line(case: str) -> None:
    file, line, path, words = CASES[case]
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / f"{case}.yaml")
    text = _assert_one_clean_line(info.value)
    location = info.value.location
    assert Path(location.file).name == file
    assert location.line == line
    assert location.path == path
    assert text.startswith(f"{location.file}:{line}:")
    for word in words:
        assert word in info.value.message


def test_catalogue_has_every_fixture() -> None:
    assert {p.stem for p in BAD.glob("*.yaml")} == set(CASES)


def test_exact_format_of_the_design_example() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / "unknown_service_field.yaml")
    assert str(info.value) == (
        f"{BAD / 'unknown_service_field.yaml'}:12:7: spec.services.ratings.concurency: "
        "unknown field; did you mean 'concurrency'?"
    )


def test_set_on_missing_manifest(load: Loader, base: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load(base, overrides={"VirtualService/ratings.spec.http[0].timeout": "1s"})
    text = _assert_one_clean_line(info.value)
    assert text.startswith("--set: VirtualService/ratings.spec.http[0].timeout: no manifest")


def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "missing.yaml")
    text = _assert_one_clean_line(info.value)
    assert text.startswith(str(tmp_path / "missing.yaml"))
    assert "cannot read scenario file" in text


@pytest.mark.parametrize(
    ("replace", "by", "path", "words"),
    [
        ("rate: 100/s", "rate: 100/s\n      arrival: poison", "spec.workload[0].arrival",
         ("did you mean 'poisson'?",)),
        ("replicas: 2", "replicas: two", "spec.services.ratings.replicas",
         ("expected a whole number", "'two'")),
        ("calls: [ratings]", "calls: ratings", "spec.services.frontend.calls",
         ("expected a list",)),
        ("latency: exponential(5ms)", "latency: exponential(-5ms)",
         "spec.services.frontend.latency", ("expected a duration",)),
        ("rate: 100/s", "rate: [{at: 10s, rate: 1/s}, {at: 5s, rate: 2/s}]",
         "spec.workload[0].rate[1].at", ("increasing order",)),
        ("rate: 100/s", "rate: 100/s\n      request: {methd: GET}",
         "spec.workload[0].request.methd", ("did you mean 'method'?",)),
        ("calls: [ratings]", "calls: [{parallel: [{service: ratings, optionl: true}]}]",
         "spec.services.frontend.calls[0].parallel[0].optionl", ("did you mean 'optional'?",)),
        ("latency: exponential(5ms)", "latency: {dist: lognormal, median: 5ms}",
         "spec.services.frontend.latency", ("lognormal needs p99=",)),
        ("calls: [ratings]", "calls: [ratings]\n      contention: inflight",
         "spec.services.frontend.contention", ("needs a factor",)),
        ("services:", "services: {}\n  extra:", "spec.services", ("at least 1 item",)),
    ],
)
def test_more_bad_values(
    load: Loader, base: str, replace: str, by: str, path: str, words: tuple[str, ...]
) -> None:
    with pytest.raises(ScenarioError) as info:
        load(base.replace(replace, by, 1))
    _assert_one_clean_line(info.value)
    assert info.value.location.path == path
    assert info.value.location.line is not None
    for word in words:
        assert word in info.value.message
