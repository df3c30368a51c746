"""``meshsim analyze``: istioctl's line format, output formats, thresholds and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from meshsim.cli.main import app

FIXTURES = Path(__file__).parents[1] / "analyze" / "fixtures"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def test_an_error_finding_exits_79_in_istioctl_format() -> None:
    path = FIXTURES / "ist0173-trigger.yaml"
    code, out, _ = invoke(str(path))
    assert code == 79
    assert out.splitlines() == [
        f"Error [IST0173] (DestinationRule reviews.default {path}:38) The Subset v3 defined in "
        "the DestinationRule does not select any pods, which may lead to 503 UH "
        "(NoHealthyUpstream)."]


def test_warnings_pass_the_default_threshold_and_fail_a_lower_one() -> None:
    path = str(FIXTURES / "msh0102-trigger.yaml")
    assert invoke(path)[0] == 0
    assert invoke(path, "--failure-threshold", "warning")[0] == 79
    assert invoke(path, "--failure-threshold", "Warning", "-S", "MSH0102=VirtualService *")[0] == 0


def test_output_threshold_hides_but_does_not_change_the_exit_code() -> None:
    code, out, _ = invoke(str(FIXTURES / "ist0173-trigger.yaml"), "--output-threshold", "Error")
    assert code == 79 and "IST0173" in out
    code, out, _ = invoke(str(FIXTURES / "ist0131-trigger.yaml"), "--output-threshold",
                            "Warning", "--failure-threshold", "Info")
    assert code == 79 and out == ""


def test_json_and_yaml_carry_istioctls_fields_and_exit_0() -> None:
    path = str(FIXTURES / "ist0101-trigger.yaml")
    code, out, err = invoke(path, "-o", "json")
    assert code == 0  # istioctl sets the exit code for log output only
    [message] = json.loads(out)
    assert message["code"] == "IST0101" and message["level"] == "Error"
    assert message["origin"] == "VirtualService reviews.default"
    assert message["reference"] == f"{path}:47"
    assert message["message"] == 'Referenced host+subset in destinationrule not found: "reviews+v3"'
    assert "does not load as it is" in err
    code, out, _ = invoke(path, "-o", "yaml")
    assert code == 0 and yaml.safe_load(out) == [message]


def test_a_clean_scenario_says_so() -> None:
    code, out, err = invoke(str(FIXTURES / "ist0173-clean.yaml"))
    assert code == 0 and out == "" and "No validation issues found" in err


def test_bad_input_is_one_located_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((FIXTURES / "ist0173-clean.yaml").read_text().replace(
        "concurrency: 8", "concurency: 8", 1))
    code, _out, err = invoke(str(bad))
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"error: {bad}:") and "concurency" in err
    assert invoke(str(bad), "--failure-threshold", "loud")[0] == 2
    assert invoke(str(FIXTURES / "ist0173-clean.yaml"), "-S", "IST0173")[0] == 2


def test_list_codes_names_every_code() -> None:
    code, out, _ = invoke(str(FIXTURES / "ist0173-clean.yaml"), "-L")
    assert code == 0 and "MSH0107  LinkerdRetriesWithoutBudget  Warning" in out


def test_confirm_runs_a_short_simulation_and_says_what_it_showed() -> None:
    _code, out, _ = invoke(str(FIXTURES / "msh0105-trigger.yaml"), "--confirm", "-o", "json")
    found = {m["code"]: m for m in json.loads(out)}
    assert set(found) == {"MSH0101", "MSH0105"}
    # ratings down behind 3 x 3 tries: well over the 3 tries one hop alone would make.
    assert found["MSH0101"]["confirmation"].startswith("confirmed: ")
    assert found["MSH0105"]["confirmation"].startswith("confirmed: ")
    assert "0 ejections" in found["MSH0105"]["confirmation"]
