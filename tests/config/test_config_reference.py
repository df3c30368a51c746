"""docs/scenario-format.md is generated from the schema and cannot drift from it."""

from __future__ import annotations

import subprocess
import sys

from paths import DOCS

from meshsim.config import limits, reference, schema

DOC = DOCS / "scenario-format.md"


def test_the_checked_in_reference_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == reference.render(), (
        f"docs/scenario-format.md is out of date: run `{reference.COMMAND}`"
    )


def test_the_module_prints_the_reference() -> None:
    proc = subprocess.run([sys.executable, "-m", "meshsim.config.reference"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout == reference.render()


def test_every_field_of_every_model_is_described() -> None:
    sections = reference.sections()
    assert {s.model for s in sections} >= {schema.ScenarioSpec, schema.ServiceSpec,
                                           schema.FaultSpec, schema.ExpectSpec}
    for section in sections:
        for name, info in section.model.model_fields.items():
            assert reference.description(section.model, name, info), (section.model, name)


def test_notes_name_fields_that_exist() -> None:
    for model, name in reference.NOTES:
        assert name in {info.alias or n for n, info in model.model_fields.items()}, (model, name)


def _row(text: str, section: str, field: str) -> str:
    part = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return next(line for line in part.splitlines() if line.startswith(f"| `{field}` |"))


def test_rows_show_type_default_bounds_and_why() -> None:
    text = reference.render()
    concurrency = _row(text, "service", "concurrency")
    assert "| integer | `16` | 1 to 100,000 (" in concurrency
    assert limits.CONCURRENCY.why in concurrency
    replicas = _row(text, "service", "replicas")  # bounds of an optional field
    assert "0 to 1,000" in replicas and "| unset |" in replicas
    timeout = _row(text, "workload", "timeout")
    assert "| duration | `0s` | 0s to 24h |" in timeout
    assert "one of `poisson`, `constant`" in _row(text, "workload", "arrival")
    assert "`denied_rate`" in _row(text, "expectation", "metric")
    assert "[call](#call)" in _row(text, "service", "calls")
    for limit in vars(limits).values():
        if isinstance(limit, limits.Limit):
            assert limit.why in text
