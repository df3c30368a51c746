"""``--set PATH=VALUE``: typed values, list indexes, manifests, and errors located at --set."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshsim.config import Scenario, parse_set_option
from meshsim.config.overrides import Override, parse_path
from meshsim.errors import ScenarioError

Loader = Callable[..., Scenario]  # the `load` fixture of conftest.py

VS = """\
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ratings-retry}
spec:
  hosts: [ratings]
  http:
    - route: [{destination: {host: ratings}}]
      retries: {attempts: 3}
"""


def _path(text: str) -> tuple[object, ...]:
    return parse_path(text, Override(text, None, None, text))


def test_path_syntax() -> None:
    assert _path("spec.workload[0].rate") == ("spec", "workload", 0, "rate")
    assert _path("spec.workload.0.rate") == ("spec", "workload", 0, "rate")
    assert _path("spec.http[0][1]") == ("spec", "http", 0, 1)
    with pytest.raises(ScenarioError, match="malformed path"):
        _path("spec..seed")


def test_values_are_yaml(load: Loader, base: str) -> None:
    scenario = load(base, overrides={
        "spec.services.ratings.replicas": "4",
        "spec.workload[0].rate": "800/s",
        "spec.seed": 7,
    })
    ratings = scenario.model.topology.services["ratings"].deployments[0]
    assert ratings.replicas == 4
    assert scenario.model.workloads[0].schedule[0].rate == 800.0
    assert scenario.model.seed == 7


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2024-13-01", "cannot read '2024-13-01' as a YAML timestamp (month must be in 1..12)"),
        ("!!int abc", "cannot read 'abc' as a YAML int"),
        ("9" * 5000, "cannot read '" + "9" * 37 + "...' as a YAML int"),
    ],
    ids=["timestamp", "tagged", "digits"],
)
def test_a_value_pyyaml_cannot_construct_is_a_located_error(
    load: Loader, base: str, value: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        load(base, overrides={"spec.duration": value})
    assert str(info.value).startswith("--set: spec.duration: malformed value")
    assert words in str(info.value)


def test_unset_optional_field_is_created_under_an_existing_parent(load: Loader, base: str) -> None:
    scenario = load(base, overrides={"spec.services.ratings.queue": "0", "spec.mesh": "linkerd"})
    assert scenario.model.topology.services["ratings"].deployments[0].queue == 0
    assert scenario.model.mesh.name == "linkerd"


def test_missing_parent_is_an_error_with_suggestion(load: Loader, base: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load(base, overrides={"spec.services.ratngs.replicas": "4"})
    assert str(info.value) == (
        "--set: spec.services.ratngs.replicas: no field 'ratngs' in spec.services; "
        "did you mean 'ratings'?"
    )


def test_list_index_out_of_range(load: Loader, base: str) -> None:
    with pytest.raises(ScenarioError, match=r"no item 3 in spec.workload \(it has 1 items\)"):
        load(base, overrides={"spec.workload[3].rate": "1/s"})


def test_bad_value_from_override_is_located_at_set(load: Loader, base: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load(base, overrides={"spec.services.ratings.replicas": "-1"})
    assert info.value.location.file == "--set"
    assert info.value.location.path == "spec.services.ratings.replicas"
    assert "at least" in info.value.message or "replica" in info.value.message


def test_manifest_override(load: Loader, base: str) -> None:
    key = "VirtualService/ratings-retry.spec.http[0].retries.attempts"
    scenario = load(base.replace("spec:\n", "spec:\n  mesh: istio\n", 1) + VS, overrides={key: "5"})
    (manifest,) = scenario.manifests
    assert manifest.data["spec"]["http"][0]["retries"]["attempts"] == 5
    assert manifest.overridden == (("spec", "http", 0, "retries", "attempts"),)
    assert manifest.location(("spec", "http", 0, "retries", "attempts")).file == "--set"


def test_unknown_manifest_is_an_error(load: Loader, base: str) -> None:
    text = base.replace("spec:\n", "spec:\n  mesh: istio\n", 1) + VS
    with pytest.raises(ScenarioError) as info:
        load(text, overrides={"VirtualService/ratings-retri.spec.http[0].timeout": "1s"})
    message = str(info.value)
    assert message.startswith("--set: VirtualService/ratings-retri.spec.http[0].timeout: ")
    assert "did you mean 'ratings-retry'" in message and "\n" not in message


def test_with_overrides_does_not_mutate(load: Loader, base: str) -> None:
    scenario = load(base)
    bigger = scenario.with_overrides({"spec.services.ratings.replicas": 5})
    assert scenario.model.topology.services["ratings"].deployments[0].replicas == 2
    assert bigger.model.topology.services["ratings"].deployments[0].replicas == 5
    again = bigger.with_overrides({"spec.seed": 9})
    assert again.model.seed == 9
    assert again.model.topology.services["ratings"].deployments[0].replicas == 5
    assert again.metadata()["overrides"] == {"spec.services.ratings.replicas": 5, "spec.seed": 9}


def test_path_must_address_spec_metadata_or_a_manifest(load: Loader, base: str) -> None:
    with pytest.raises(ScenarioError, match=r"starting with spec\., metadata\. or Kind/name"):
        load(base, overrides={"services.ratings.replicas": "3"})


def test_parse_set_option() -> None:
    assert parse_set_option("spec.seed=3") == ("spec.seed", "3")
    assert parse_set_option("spec.workload[0].request.path=/a=b") == (
        "spec.workload[0].request.path", "/a=b")
    with pytest.raises(ScenarioError, match="PATH=VALUE"):
        parse_set_option("spec.seed")
