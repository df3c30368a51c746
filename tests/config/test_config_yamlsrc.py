"""Source positions: every error must name the right line, for nested and list paths alike."""

from __future__ import annotations

import pytest
import yaml

from meshsim.config import yamlsrc
from meshsim.config.limits import Limit
from meshsim.config.yamlsrc import dotted, load_stream, nearest_position
from meshsim.errors import ScenarioError

TEXT = """\
spec:
  services:
    ratings:
      concurrency: 8
      calls:
        - reviews
        - {service: details, path: /d}
  workload:
    - name: users
      rate: 10/s
---
kind: VirtualService
metadata:
  name: r
"""


def test_positions_of_nested_keys_and_list_items() -> None:
    first, second = load_stream(TEXT, "s.yaml")
    pos = first.positions
    assert pos[("spec", "services", "ratings", "concurrency")] == (4, 7)
    assert pos[("spec", "services", "ratings", "calls", 0)] == (6, 11)
    assert pos[("spec", "services", "ratings", "calls", 1, "path")] == (7, 30)
    assert pos[("spec", "workload", 0)] == (9, 7)
    assert pos[("spec", "workload", 0, "rate")] == (10, 7)
    assert second.positions[("metadata", "name")] == (14, 3)
    assert second.start == (12, 1)


def test_data_is_plain_python() -> None:
    first, _ = load_stream(TEXT, "s.yaml")
    assert first.data == {
        "spec": {
            "services": {"ratings": {"concurrency": 8, "calls": [
                "reviews", {"service": "details", "path": "/d"}]}},
            "workload": [{"name": "users", "rate": "10/s"}],
        }
    }


def test_nearest_ancestor_when_no_exact_position() -> None:
    first, _ = load_stream(TEXT, "s.yaml")
    path = ("spec", "services", "ratings", "latency")
    assert nearest_position(first.positions, path) == (3, 5)


def test_dotted_paths() -> None:
    assert dotted(("spec", "workload", 0, "rate")) == "spec.workload[0].rate"
    assert dotted(("spec", "services", "ratings", "concurency")) == (
        "spec.services.ratings.concurency"
    )
    assert dotted(()) == ""


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    with pytest.raises(ScenarioError) as info:
        load_stream("a:\n  b: 1\n  c: 2\n  b: 3\n", "d.yaml")
    assert info.value.location.line == 4
    assert info.value.location.path == "a.b"
    assert "duplicate key 'b'" in info.value.message and "line 2" in info.value.message


def test_malformed_yaml_names_file_and_line() -> None:
    with pytest.raises(ScenarioError) as info:
        load_stream("a: 1\nb: c: d\n", "m.yaml")
    assert str(info.value) == "m.yaml:2:5: malformed YAML: mapping values are not allowed here"


def test_unclosed_flow_sequence_names_where_it_started() -> None:
    with pytest.raises(ScenarioError) as info:
        load_stream("a: [1, 2\nb: 3\n", "m.yaml")
    assert "started at line 1" in info.value.message


def test_empty_documents_are_skipped() -> None:
    assert [d.data for d in load_stream("---\na: 1\n---\n", "e.yaml")] == [{"a": 1}]


def test_merge_keys_are_not_duplicates() -> None:
    (doc,) = load_stream("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "m.yaml")
    assert doc.data == {"base": {"x": 1}, "other": {"x": 1, "y": 2}}


def test_raw_scalar_text_is_kept() -> None:
    (doc,) = load_stream("spec:\n  meshVersion: 1.20\n", "v.yaml")
    assert doc.scalars[("spec", "meshVersion")] == "1.20"


def test_unprintable_character_is_one_located_line() -> None:
    with pytest.raises(ScenarioError) as info:
        load_stream("a: 1\nb: \x00\n", "n.yaml")
    assert str(info.value) == "n.yaml:2: not readable as YAML: special characters are not allowed"


def test_aliases_are_walked_once() -> None:
    text = "a: &a [1, 2]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
    (doc,) = load_stream(text, "a.yaml")
    assert doc.data["c"][2][1] == [1, 2]  # type: ignore[index]
    assert ("c", 2, 1, 0) not in doc.positions  # inside an alias: the nearest ancestor stands in
    assert nearest_position(doc.positions, ("c", 2, 1, 0)) == doc.positions[("c", 2)]
    assert len(doc.positions) < 20


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("metadata: {creationTimestamp: 2024-13-01T00:00:00Z}\n", 31, "month must be in 1..12"),
        ("spec: {duration: 2024-02-30}\n", 18, "day is out of range for month"),
        ("labels: {2024-13-01: a}\n", 10, "as a YAML timestamp"),
        ("spec: {replicas: !!int abc}\n", 18, "as a YAML int"),
        ("spec: {rate: !!float abc}\n", 14, "as a YAML float"),
        ("spec: {at: !!timestamp abc}\n", 12, "as a YAML timestamp"),
    ],
)
def test_scalar_pyyaml_cannot_construct_is_one_located_line(
    text: str, column: int, words: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_stream("kind: Scenario\n" + text, "s.yaml")
    assert caught.value.location.line == 2
    assert caught.value.location.column == column
    assert words in str(caught.value)


def test_libyaml_parses_when_present() -> None:
    """The located constructor must not put PyYAML's pure-Python parser in front of libyaml's
    (it made a 20,000-document file take 17 s instead of 4)."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        pytest.skip("PyYAML built without libyaml")
    assert yamlsrc._FAST.get_node is fast.get_node


def test_too_many_documents_refused_before_composing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsrc.limits, "MANIFESTS", Limit("manifest documents", 3, "why"))
    monkeypatch.setattr(yamlsrc, "_SMALL", 0)

    def compose(*_: object) -> None:
        raise AssertionError("documents composed before the count was checked")

    monkeypatch.setattr(yamlsrc, "_documents", compose)
    text = "---\n\n" + "".join(f"---\nkind: K\nmetadata: {{name: n{i}}}\n" for i in range(4))
    with pytest.raises(ScenarioError, match="limit of 3 manifest documents") as caught:
        yamlsrc.load_stream(text, "m.yaml")
    assert caught.value.location.line == 13  # the fourth document's mapping


def test_a_long_malformed_text_is_reported_before_composing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 3 MB file with an unclosed brace near its end took 12 s: every document before it
    was composed, then the whole text parsed again by the pure-Python parser."""
    monkeypatch.setattr(yamlsrc, "_SMALL", 0)

    def compose(*_: object) -> None:
        raise AssertionError("documents composed before the text was known to be well formed")

    monkeypatch.setattr(yamlsrc, "_documents", compose)
    text = "kind: A\n---\nkind: B\nspec: {a: 1\n"
    with pytest.raises(ScenarioError, match="malformed YAML") as caught:
        yamlsrc.load_stream(text, "m.yaml")
    assert caught.value.location.line == 5
