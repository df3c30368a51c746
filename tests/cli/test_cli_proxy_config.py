"""``meshsim proxy-config``: istioctl's table shapes, ``-o wide|json``, ``--at``, bad input."""

from __future__ import annotations

import json

from paths import SCENARIOS
from typer.testing import CliRunner

from meshsim.cli.main import app

BREAKER = str(SCENARIOS / "istio" / "circuit-breaker.yaml")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["proxy-config", *args])
    return result.exit_code, result.stdout, result.stderr


def _header(out: str) -> list[str]:
    return [c for c in out.splitlines()[0].split("   ") if c.strip()]


def test_tables_have_istioctls_columns() -> None:
    code, out, _ = invoke("clusters", "users-0.default", BREAKER)
    assert code == 0
    assert [c.strip() for c in _header(out)] == [
        "SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"]
    assert out.splitlines()[1].split() == [
        "my-service.default.svc.cluster.local", "80", "outbound", "EDS",
        "circuit-breaker.default"]
    code, out, _ = invoke("endpoints", "users-0", BREAKER)
    assert [c.strip() for c in _header(out)] == ["ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER"]
    assert out.splitlines()[1].split() == [
        "my-service-0:80", "HEALTHY", "OK", "outbound|80||my-service.default.svc.cluster.local"]
    code, out, _ = invoke("routes", "users-0", BREAKER)
    assert [c.strip() for c in _header(out)] == [
        "NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"]


def test_wide_adds_the_settings_and_json_has_every_column() -> None:
    code, out, _ = invoke("clusters", "users-0", BREAKER, "-o", "wide")
    assert code == 0 and "CIRCUIT BREAKERS" in out and "maxConnections=100" in out
    code, out, _ = invoke("all", "users-0", BREAKER, "-o", "json", "--at", "6s")
    payload = json.loads(out)
    assert payload["proxy"] == "users-0" and payload["at"] == 6.0
    assert {"routes", "clusters", "endpoints"} <= set(payload)
    assert any(r["OUTLIER CHECK"] == "FAILED" for r in payload["endpoints"])


def test_bad_pod_or_time_is_one_error_line_and_exit_2() -> None:
    code, _, err = invoke("routes", "nope", BREAKER)
    assert code == 2 and err.startswith("error: ") and "no proxy named 'nope'" in err
    code, _, err = invoke("routes", "users-0", BREAKER, "--at", "soon")
    assert code == 2 and err.startswith("error: --at:") and "Traceback" not in err
