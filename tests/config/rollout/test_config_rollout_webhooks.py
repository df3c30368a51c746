"""Flagger webhooks: hey commands → the load tester's workloads; other hooks → warnings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from rollout_config_helpers import find, line_of, load, policy

from meshsim.config.rollout.hey import Unrecognised, parse_hey
from meshsim.config.rollout.webhooks import analysis_ticks, runs
from meshsim.model.rollout import FlaggerCanary, TrafficTarget, Version
from meshsim.model.routes import Backend
from meshsim.model.workload import RateStep

# -- hey ----------------------------------------------------------------------------------------


def test_the_docs_command() -> None:
    run = parse_hey("hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/")
    assert (run.url_host, run.path, run.method) == ("podinfo-canary.test", "/", "GET")
    assert (run.workers, run.qps, run.rate, run.duration, run.timeout) == (2, 10.0, 20.0,
                                                                           60.0, 20.0)


def test_method_headers_body_and_equals_form() -> None:
    run = parse_hey("hey -z=30s -q 5 -c 4 -m post -H 'x-canary: insider' -H 'Accept: a/b' "
                    "-T application/json -d '{\"a\": 1}' -t 3 http://podinfo:9898/api/echo?x=1")
    assert (run.method, run.path, run.timeout, run.body) == ("POST", "/api/echo?x=1", 3.0, True)
    assert run.headers == {"x-canary": "insider", "accept": "a/b",
                           "content-type": "application/json"}


def test_count_without_duration_and_host_override() -> None:
    run = parse_hey("hey -n 100 -q 5 -c 2 -host app.example.com http://gateway.istio-system/")
    assert run.duration == pytest.approx(10.0)  # 100 requests at 2 × 5 per second
    assert run.url_host == "app.example.com"  # hey sets the Host header: routing follows it


@pytest.mark.parametrize(("cmd", "why"), [
    ("hey -z 1m -c 2 http://podinfo/", "closed loop"),
    ("curl -s http://podinfo/", "only hey"),
    ("hey -z 1m -q 1 http://a/ | tee x", "unexpected argument"),
    ("hey -z 1m -q 1 -x http://proxy:3128 http://a/", "-x"),
    ("hey -z soon -q 1 http://a/", "Go duration"),
    ("hey -z 1m -q 1 -w 3 http://a/", "-w is not modelled"),
    ("hey -q 1 ftp://a/", "not an http"),
])
def test_unrecognised_commands_say_why(cmd: str, why: str) -> None:
    with pytest.raises(Unrecognised, match=why):
        parse_hey(cmd)


# -- when the load tester runs -------------------------------------------------------------------

BASE = FlaggerCanary("p", TrafficTarget("p", Version("p", "primary"), Version("p", "canary"),
                                        ("r",)), "canary", interval=60.0, threshold=1,
                     step_weight=10.0, max_weight=50.0, start=30.0)


def test_ticks_follow_the_strategy_and_threshold() -> None:
    # canary: weights 10..50 set on ticks 1-5; ticks 2-6 run the analysis (6 promotes)
    assert analysis_ticks(BASE) == [30.0 + 60.0 * k for k in range(2, 7)]
    assert len(analysis_ticks(replace(BASE, threshold=5))) == 5 + 4  # up to 4 failed checks
    blue = replace(BASE, strategy="bluegreen", iterations=3)
    assert analysis_ticks(blue) == [30.0 + 60.0 * k for k in range(2, 6)]  # ticks 2..5
    ab = replace(BASE, strategy="ab", iterations=3)
    assert len(analysis_ticks(ab)) == 3
    steps = replace(BASE, step_weight=0.0, step_weights=(1.0, 2.0, 10.0, 80.0))
    assert len(analysis_ticks(steps)) == 4
    assert analysis_ticks(replace(BASE, skip_analysis=True)) == []


def test_runner_skips_a_command_still_running() -> None:
    assert runs([0.0, 60.0, 120.0], 60.0) == [(0.0, 180.0)]  # back to back: continuous
    assert runs([0.0, 60.0, 120.0], 90.0) == [(0.0, 90.0), (120.0, 210.0)]  # 60 s skipped
    assert runs([0.0, 60.0], 10.0) == [(0.0, 10.0), (60.0, 70.0)]


# -- translation ---------------------------------------------------------------------------------


def canary(hooks: str, services: str = "", analysis: str = "iterations: 3") -> str:
    return (
        "apiVersion: meshsim/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n"
        "  mesh: istio\n  duration: 300s\n  rollout: {start: 10s}\n  services:\n"
        "    frontend: {namespace: test, latency: exponential(2ms), calls: [podinfo]}\n"
        "    podinfo: {namespace: test, latency: exponential(5ms), "
        "versions: {primary: {}, canary: {}}}\n"
        f"{services}"
        "  workload:\n    - {name: users, target: frontend, rate: 10/s}\n---\n"
        "apiVersion: flagger.app/v1beta1\nkind: Canary\n"
        "metadata: {name: podinfo, namespace: test}\nspec:\n"
        "  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n"
        "  service: {port: 9898}\n"
        f"  analysis:\n    interval: 10s\n    threshold: 2\n    {analysis}\n"
        f"    webhooks:\n{hooks}"
    )


def hook(cmd: str, kind: str = "", url: str = "http://flagger-loadtester.test/",
         extra: str = "") -> str:
    t = f"        type: {kind}\n" if kind else ""
    return (f"      - name: load-test\n{t}        url: {url}\n"
            f"        metadata:\n          cmd: \"{cmd}\"\n{extra}")


def test_canary_host_goes_straight_to_the_canary_version(tmp_path: Path) -> None:
    s = load(tmp_path, canary(hook("hey -z 10s -q 10 -c 2 http://podinfo-canary.test:9898/")))
    tester = s.model.workloads[-1]
    assert (tester.name, tester.target, tester.host) == ("flagger-loadtester", "podinfo",
                                                         "podinfo-canary")
    assert (tester.clients, tester.arrival, tester.timeout) == (2, "constant", 20.0)
    # blue/green, 3 iterations, threshold 2: ticks 2..6 at 30..70 s, 10 s runs back to back
    assert tester.schedule == (RateStep(0.0, 0.0), RateStep(30.0, 20.0), RateStep(80.0, 0.0))
    (route,) = policy(s).routes["podinfo-canary"]
    assert route.backends == (Backend("podinfo", "canary"),)
    assert not [w for w in s.warnings if w.code == "not-run"]


def test_apex_host_goes_through_flaggers_routes(tmp_path: Path) -> None:
    s = load(tmp_path, canary(hook("hey -z 10s -q 1 -c 1 -m POST http://podinfo.test:9898/x")))
    tester = s.model.workloads[-1]
    assert (tester.target, tester.host) == ("podinfo", None)
    assert (tester.requests[0].method, tester.requests[0].path) == ("POST", "/x")


def test_short_names_resolve_in_the_load_testers_namespace(tmp_path: Path) -> None:
    cmd = "hey -z 10s -q 1 -c 1 http://podinfo-canary:9898/"
    here = load(tmp_path, canary(hook(cmd, url="http://flagger-loadtester.test/")))
    assert here.model.workloads[-1].host == "podinfo-canary"
    # from namespace tools, podinfo-canary is podinfo-canary.tools: no such Service
    there = load(tmp_path, canary(hook(cmd, url="http://flagger-loadtester.tools/")))
    assert [w.name for w in there.model.workloads] == ["users"]
    assert find(there.warnings, "'podinfo-canary' is no service").code == "not-run"


def test_split_services_are_targeted_directly(tmp_path: Path) -> None:
    split = ("    podinfo-primary: {namespace: test, latency: exponential(5ms)}\n"
             "    podinfo-canary: {namespace: test, latency: exponential(5ms)}\n")
    text = canary(hook("hey -z 10s -q 1 -c 1 http://podinfo-canary.test:9898/"),
                  services=split).replace(", versions: {primary: {}, canary: {}}", "")
    tester = load(tmp_path, text).model.workloads[-1]
    assert (tester.target, tester.host) == ("podinfo-canary", None)


def test_pre_rollout_hey_runs_on_the_first_tick(tmp_path: Path) -> None:
    s = load(tmp_path, canary(hook("hey -z 5s -q 2 -c 1 http://podinfo-canary.test/",
                                   kind="pre-rollout")))
    assert s.model.workloads[-1].schedule[1:] == (RateStep(20.0, 2.0), RateStep(25.0, 0.0))


def test_not_run_hooks_are_named_and_located(tmp_path: Path) -> None:
    hooks = (hook("hey -z 1m -c 2 http://podinfo-canary.test/")
             + hook("hey -z 1m -q 1 http://nowhere.test/").replace("load-test", "nowhere")
             + hook("hey -z 1m -q 1 http://podinfo-canary.test/", extra="          type: bash\n")
             .replace("load-test", "blocking")
             + "      - name: gate\n        type: confirm-promotion\n"
               "        url: http://flagger-loadtester.test/gate/halt\n"
             + "      - name: approve\n        type: confirm-rollout\n"
               "        url: http://flagger-loadtester.test/gate/approve\n"
             + "      - name: notify\n        type: post-rollout\n        url: http://x/\n")
    text = canary(hooks)
    s = load(tmp_path, text)
    assert [w.name for w in s.model.workloads] == ["users"]
    assert "closed loop" in find(s.warnings, "'load-test' (rollout) is not run").message
    assert find(s.warnings, "'nowhere.test' is no service").location.line == line_of(
        text, "nowhere.test")
    assert "synchronously" in find(s.warnings, "'blocking' (rollout) is not run").message
    assert "/gate/halt" in find(s.warnings, "'gate' (confirm-promotion)").message
    assert "taken as successful" in find(s.warnings, "'notify' (post-rollout)").message
    assert not [w for w in s.warnings if "'approve'" in w.message]  # /gate/approve: modelled


def test_a_request_body_is_a_named_warning(tmp_path: Path) -> None:
    s = load(tmp_path, canary(hook("hey -z 10s -q 1 -c 1 -d x http://podinfo-canary.test/")))
    assert find(s.warnings, "request bodies are not modelled").code == "unmodelled"
    assert s.model.workloads[-1].name == "flagger-loadtester"
