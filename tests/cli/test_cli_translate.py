"""``meshsim translate``: writes a loadable scenario, prints the notes, exit 2 on bad input."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import meshsim
from meshsim.cli.main import app

ROOT = Path(__file__).parents[2]


def test_translate_writes_a_scenario_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "storm-linkerd.yaml"
    result = CliRunner().invoke(app, ["translate", str(ROOT / "scenarios/retry-storm.yaml"),
                                      "--to", "linkerd", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "approximated: VirtualService/frontend spec.http[0].retries.retryOn" in result.output
    assert f"wrote {out}" in result.output.replace("\n", "")
    scenario = meshsim.load(out)
    assert scenario.spec.mesh == "linkerd"
    assert {m.kind for m in scenario.manifests} == {"HTTPRoute"}


def test_translate_refuses_an_unknown_mesh_and_an_existing_file(tmp_path: Path) -> None:
    src = str(ROOT / "scenarios/istio/canary-split.yaml")
    bad = CliRunner().invoke(app, ["translate", src, "--to", "consul"])
    assert bad.exit_code == 2
    assert "--to 'consul'" in bad.output and "Traceback" not in bad.output
    out = tmp_path / "x.yaml"
    out.write_text("keep me")
    again = CliRunner().invoke(app, ["translate", src, "--to", "linkerd", "-o", str(out)])
    assert again.exit_code == 2
    assert out.read_text() == "keep me"
