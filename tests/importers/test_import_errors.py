"""Bad or partial exports and dumps: one located error line (file, line, JSON or YAML path),
exit 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshsim.cli.main import app

FIXTURES = Path(__file__).parent / "fixtures"


def _run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return result.exit_code, lines[0]


def _otlp(tmp_path: Path, edit: object) -> Path:
    data = json.loads((FIXTURES / "shop-otlp.json").read_text())
    span = data["resourceSpans"][1]["scopeSpans"][0]["spans"][0]
    assert callable(edit)
    edit(data, span)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("edit", "fragments"), [
    (lambda d, s: s.update(spanId="xyz"),
     ("resourceSpans[1].scopeSpans[0].spans[0].spanId", "expected 16 hex digits")),
    (lambda d, s: s.update(startTimeUnixNano="soon"),
     ("resourceSpans[1].scopeSpans[0].spans[0]", "startTimeUnixNano")),
    (lambda d, s: s.update(kind="SERVERISH"), ("resourceSpans[1].scopeSpans[0].spans[0]",
                                                "kind")),
    (lambda d, s: s.update(duration=3), ("resourceSpans[1].scopeSpans[0].spans[0]",
                                          'no field named "duration"')),
    (lambda d, s: d["resourceSpans"][1]["resource"].update(attributes=[]),
     ("resourceSpans[1].resource.attributes", "service.name")),
])
def test_bad_otlp_is_one_located_line(tmp_path: Path, edit: object,
                                      fragments: tuple[str, ...]) -> None:
    path = _otlp(tmp_path, edit)
    code, line = _run("import", "traces", path, "-o", tmp_path / "out.yaml")
    assert code == 2
    assert line.startswith(f"error: {path}: ")
    for fragment in fragments:
        assert fragment in line
    assert not (tmp_path / "out.yaml").exists()


def test_truncated_json_lines_name_the_line(tmp_path: Path) -> None:
    good = json.dumps(json.loads((FIXTURES / "shop-otlp.json").read_text()))
    path = tmp_path / "lines.json"
    path.write_text(good + "\n" + good[:50] + "\n")
    code, line = _run("import", "traces", path, "-o", tmp_path / "out.yaml")
    assert code == 2
    assert f"{path}:2: not JSON" in line


def test_jaeger_span_without_its_process(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "shop-jaeger.json").read_text())
    data["data"][2]["spans"][3]["processID"] = "p9"
    path = tmp_path / "j.json"
    path.write_text(json.dumps(data))
    code, line = _run("import", "traces", path, "-o", tmp_path / "out.yaml")
    assert code == 2
    assert "data[2].spans[3].processID: no process 'p9'" in line


def test_neither_otlp_nor_jaeger(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"traces": []}')
    code, line = _run("import", "traces", path, "-o", tmp_path / "out.yaml")
    assert code == 2
    assert "expected OTLP JSON" in line


def test_kubernetes_item_without_kind_has_its_line(tmp_path: Path) -> None:
    dump = tmp_path / "dump.yaml"
    dump.write_text("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n"
                    "  metadata: {name: a}\n- apiVersion: apps/v1\n  metadata: {name: b}\n")
    code, line = _run("import", "kubernetes", dump)
    assert code == 2
    assert line.startswith(f"error: {dump}:7:3: items[1]: not a Kubernetes object")


def test_export_of_a_path_that_is_not_a_run(tmp_path: Path) -> None:
    code, line = _run("export", "traces", tmp_path, "-o", tmp_path / "t.json")
    assert code == 2
    assert "not a run directory" in line


def test_a_dump_without_workloads_or_services(tmp_path: Path) -> None:
    dump = tmp_path / "cm.json"  # kubectl -o json is YAML too
    dump.write_text('{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", '
                    '"kind": "ConfigMap", "metadata": {"name": "a"}}]}')
    code, line = _run("import", "kubernetes", dump)
    assert code == 2
    assert line.startswith(f"error: {dump}: no Service, Deployment")
