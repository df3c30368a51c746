"""Every analyze code has a fixture that triggers it (and nothing else) and one that does not.

Fixtures are ``fixtures/<code>[-variant]-trigger.yaml`` (a variant may name a second code it
also gives) and ``fixtures/<code>-clean.yaml``. The
shipped scenarios give exactly the findings listed in ``SHIPPED`` (each examined by hand).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from paths import SCENARIOS

import meshsim
from meshsim.analyze import ALL, analyze
from meshsim.errors import ScenarioError

FIXTURES = Path(__file__).parent / "fixtures"
# A deep retry chain without protection (MSH0105) is always also an amplification (MSH0101).
ALSO = {"MSH0105": {"MSH0101"}}
# The clean twin of MSH0105 is the amplification fixture with outlier detection.
CLEAN_ALSO = {"MSH0105": {"MSH0101"}}

SHIPPED = {
    "retry-storm.yaml": ["MSH0102", "MSH0101", "MSH0103", "MSH0105"],
    "istio/retry-timeout.yaml": ["MSH0102"],
}


def _named(path: Path) -> set[str]:
    """The codes a fixture's name lists: ``ist0101-ist0174-trigger`` → IST0101, IST0174."""
    return {part.upper() for part in path.stem.split("-") if re.fullmatch(r"(ist|msh)\d{4}", part)}


def _codes(path: Path) -> set[str]:
    return {f.type.code for f in analyze(path).findings}


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*-trigger.yaml")), ids=lambda p: p.stem)
def test_a_trigger_fixture_gives_its_code_and_nothing_else(path: Path) -> None:
    named = _named(path)
    assert _codes(path) == named.union(*(ALSO.get(code, set()) for code in named))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*-clean.yaml")), ids=lambda p: p.stem)
def test_a_clean_fixture_does_not_give_its_code(path: Path) -> None:
    [code] = _named(path)
    assert _codes(path) == CLEAN_ALSO.get(code, set())


def test_every_code_has_both_fixtures() -> None:
    for kind in ALL:
        stem = kind.code.lower()
        assert list(FIXTURES.glob(f"{stem}*-trigger.yaml")), kind.code
        assert (FIXTURES / f"{stem}-clean.yaml").exists(), kind.code


def test_every_code_is_documented_with_an_example() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "analyze.md").read_text()
    for kind in ALL:
        section = docs.split(f"### {kind.code} ", 1)
        assert len(section) == 2, kind.code
        assert f"[{kind.code}]" in section[1].split("\n### ", 1)[0], kind.code


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("**/*.yaml")),
                         ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_shipped_scenarios_give_only_the_examined_findings(path: Path) -> None:
    name = str(path.relative_to(SCENARIOS))
    found = [f.type.code for f in analyze(path).findings]
    assert found == SHIPPED.get(name, [])


def test_a_missing_reference_still_stops_loading_with_its_located_line() -> None:
    """analyze reports it as a finding; ``load`` (run, validate) keeps the exit-2 error."""
    path = FIXTURES / "ist0101-trigger.yaml"
    with pytest.raises(ScenarioError) as caught:
        meshsim.load(path)
    assert caught.value.format().startswith(f"{path}:47:40: VirtualService/reviews ")
    result = analyze(path)
    assert result.stopped == caught.value.format()
    assert [f.format() for f in result.findings] == [
        f'Error [IST0101] (VirtualService reviews.default {path}:47) Referenced host+subset in '
        'destinationrule not found: "reviews+v3"']
