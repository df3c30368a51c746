"""``meshsim import kubernetes|traces`` and ``meshsim export traces`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from paths import SCENARIOS
from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app

FIXTURES = Path(__file__).parents[1] / "importers" / "fixtures"


def _invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_import_kubernetes_to_stdout_loads() -> None:
    code, out, err = _invoke("import", "kubernetes", FIXTURES / "bookinfo-dump.yaml")
    assert code == 0, err
    assert out.startswith("# Imported by meshsim from")
    assert "kind: Scenario" in out and "kind: DestinationRule" in out
    assert "not used (meshsim does not model them): 1 v1/ConfigMap" in err


def test_import_traces_writes_reports_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "shop.yaml"
    code, stdout, err = _invoke("import", "traces", FIXTURES / "shop-otlp.json", "-o", out,
                                "--latency", "empirical")
    assert code == 0, err
    assert f"wrote {out}: 4 services; it loads" in err
    assert "self time: observed vs fitted" in stdout
    assert "productpage" in stdout and "empirical" in stdout
    assert (tmp_path / "shop-samples" / "productpage.csv").is_file()
    code, _, err = _invoke("import", "traces", FIXTURES / "shop-otlp.json", "-o", out)
    assert code == 2
    assert "exists (use --force" in err


def test_export_traces_of_a_run_directory(tmp_path: Path) -> None:
    scenario = meshsim.load(SCENARIOS / "single-queue.yaml", {"spec.warmup": "0s",
                                                               "spec.duration": "1s"})
    run = meshsim.simulate(scenario).save(tmp_path / "run", plots=False)
    out = tmp_path / "t.json"
    code, _, err = _invoke("export", "traces", run, "-o", out, "--sample", "0.5")
    assert code == 0, err
    data = json.loads(out.read_text())
    assert data["resourceSpans"] and "spans" in err
    code, _, err = _invoke("export", "traces", run, "-o", out)
    assert code == 2 and "exists" in err
