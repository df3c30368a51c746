"""Flagger MetricTemplates: rendered with Flagger's variables, read as PromQL shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from rollout_config_helpers import error, find, line_of, load, scenario

from meshsim.model.rollout import FlaggerCanary, Measure, Version

SPLIT = (
    "podinfo: {latency: exponential(5ms)}\n"
    "podinfo-primary: {latency: exponential(5ms)}\n"
    "podinfo-canary: {latency: exponential(5ms)}"
)
VERSIONS = "podinfo: {latency: exponential(5ms), versions: {primary: {}, canary: {}}}"
LINKERD_SR = (
    'sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",'
    'classification!="failure",direction="inbound"}[{{ interval }}])) / '
    'sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",'
    'direction="inbound"}[{{ interval }}])) * 100'
)


def manifests(query: str, metric: str = "", provider: str = "type: prometheus",
              mesh: str = "linkerd") -> str:
    """A Canary whose one metric references MetricTemplate ``t``, and the template."""
    extra = "".join(f"        {line}\n" for line in metric.strip().splitlines())
    router = "  provider: linkerd\n" if mesh == "linkerd" else ""
    return (
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo}\nspec:\n"
        f"{router}  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}\n"
        "  service: {port: 9898}\n  analysis:\n    stepWeight: 10\n    metrics:\n"
        "      - name: custom\n        templateRef: {name: t}\n"
        "        thresholdRange: {min: 99}\n        interval: 30s\n"
        f"{extra}"
        "---\napiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata: {name: t}\n"
        f"spec:\n  provider: {{{provider}}}\n  query: '{query}'\n"
    )


def check_of(tmp_path: Path, text: str) -> tuple[object, Measure]:
    loaded = load(tmp_path, text)
    (c,) = loaded.model.rollouts
    assert isinstance(c, FlaggerCanary)
    (check,) = c.checks
    assert (check.name, check.min, check.max) == ("custom", 99.0, None)
    return loaded, check.measure


def test_linkerd_docs_success_rate_measures_the_canary_in_percent(tmp_path: Path) -> None:
    _, m = check_of(tmp_path, scenario("linkerd", SPLIT, manifests(LINKERD_SR)))
    assert m == Measure("success_rate", Version("podinfo-canary"), window=30.0,
                        reporter="destination", scale=100.0)


def test_istio_target_is_the_canary_version(tmp_path: Path) -> None:
    query = ('sum(rate(istio_requests_total{reporter="destination",destination_workload=~'
             '"{{ target }}",response_code!~"5.*"}[{{ interval }}])) / sum(rate('
             'istio_requests_total{reporter="destination",destination_workload=~"{{ target }}"}'
             '[{{ interval }}]))')
    _, m = check_of(tmp_path, scenario("istio", VERSIONS, manifests(query, mesh="istio")))
    assert (m.kind, m.of, m.window, m.scale) == ("success_rate", Version("podinfo", "canary"),
                                                 30.0, 1.0)


@pytest.mark.parametrize(("metric", "bucket", "unit"), [
    ("response_latency_ms_bucket", "direction=\"inbound\"", 0.001),
    ("istio_request_duration_milliseconds_bucket", "reporter=\"destination\"", 0.0005),
])
def test_latency_templates_read_the_mesh_buckets(tmp_path: Path, metric: str, bucket: str,
                                                 unit: float) -> None:
    label = "deployment" if metric.startswith("response") else "destination_workload"
    query = (f'histogram_quantile(0.99, sum(rate({metric}{{{label}=~"{{{{ target }}}}-primary",'
             f'{bucket}}}[{{{{ interval }}}}])) by (le))')
    mesh = "linkerd" if metric.startswith("response") else "istio"
    services = SPLIT if mesh == "linkerd" else VERSIONS
    _, m = check_of(tmp_path, scenario(mesh, services, manifests(query, mesh=mesh)))
    primary = Version("podinfo-primary") if mesh == "linkerd" else Version("podinfo", "primary")
    assert (m.kind, m.of, m.quantile, m.scale) == ("latency", primary, 0.99, 1000.0)
    assert m.buckets[0] == unit  # the mesh's first bucket bound, in seconds


def test_template_variables_and_service_name(tmp_path: Path) -> None:
    query = ('sum(rate(response_total{dst_service="{{ variables.svc }}",direction='
             '"{{ variables.dir }}"}[{{ interval }}]))')
    metric = "templateVariables: {svc: podinfo-canary, dir: outbound}"
    loaded, m = check_of(tmp_path, scenario("linkerd", SPLIT, manifests(query, metric)))
    assert (m.kind, m.of, m.reporter) == ("request_rate", Version("podinfo-canary"), "source")
    assert not [w for w in loaded.warnings if "MetricTemplate" in w.message]  # now read


def test_address_is_a_named_warning(tmp_path: Path) -> None:
    text = scenario("linkerd", SPLIT, manifests(LINKERD_SR, provider="type: prometheus, "
                                                "address: http://prometheus:9090"))
    loaded = load(tmp_path, text)
    w = find(loaded.warnings, "address is not modelled")
    assert w.location.line == line_of(text, "address: http")


ERRORS = [
    (manifests("sum(rate(http_requests_total{job=\"x\"}[1m]))"),
     "cannot read the query of MetricTemplate/t", "  query: ",
     "MetricTemplate/t spec.query"),
    (manifests(LINKERD_SR, provider="type: datadog"), "provider datadog is not built",
     "provider: {type: datadog}", "MetricTemplate/t spec.provider.type"),
    (manifests(LINKERD_SR.replace("{{ namespace }}", "{{ cluster }}")),
     "{{ cluster }} is no variable of Flagger's metric template model", "  query: ",
     "MetricTemplate/t spec.query"),
    (manifests(LINKERD_SR.replace("{{ target }}", "{{ variables.app }}")),
     "templateVariables has no 'app'", "- name: custom", "Canary/podinfo spec.analysis.metrics[0]"),
    (manifests(LINKERD_SR).replace("        interval: 30s\n", ""),
     "needs an interval", "- name: custom", "Canary/podinfo spec.analysis.metrics[0]"),
    (manifests(LINKERD_SR).replace("templateRef: {name: t}", "templateRef: {name: u}"),
     "MetricTemplate default/u is not among the manifests (MetricTemplates: default/t)",
     "templateRef: {name: u}", "Canary/podinfo spec.analysis.metrics[0].templateRef.name"),
    (manifests(LINKERD_SR.replace("response_total", "istio_requests_total")
               .replace("classification!=\"failure\"", "response_code!~\"5.*\"")
               .replace("direction=\"inbound\"", "reporter=\"destination\"")),
     "this query counts Istio metrics but spec.mesh is linkerd", "  query: ",
     "MetricTemplate/t spec.query"),
]


@pytest.mark.parametrize(("manifest", "message", "at", "path"), ERRORS)
def test_template_errors_are_located(tmp_path: Path, manifest: str, message: str, at: str,
                                     path: str) -> None:
    text = scenario("linkerd", SPLIT, manifest)
    exc = error(tmp_path, text)
    assert message in exc.message
    assert exc.location.line == line_of(text, at)
    assert exc.location.path == path


def test_unreadable_query_lists_the_shapes(tmp_path: Path) -> None:
    exc = error(tmp_path, scenario("linkerd", SPLIT, manifests("avg(up{job=\"x\"})")))
    assert "histogram_quantile" in exc.message and "response_total" in exc.message
    assert "rendered for metric 'custom'" in exc.message


def test_a_template_check_names_its_template_so_it_is_not_a_built_in(tmp_path: Path) -> None:
    """Flagger runs a templateRef metric as custom even when it is called request-duration:
    only the built-in one is truncated to whole milliseconds by the scheduler."""
    loaded = load(tmp_path, scenario("linkerd", SPLIT, manifests(LINKERD_SR)))
    (c,) = loaded.model.rollouts
    assert isinstance(c, FlaggerCanary)
    (check,) = c.checks
    assert check.template is not None and check.template.startswith("MetricTemplate/")
