"""linkerd viz's views equal pandas computations over the run's own frames, read back from a
run directory exactly as from the Results they were saved from."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from viz_runs import AUTHZ, ISTIO, LINKERD, SavedRun, in_window, owner_of, quantiles, saved_run

from meshsim.results import viz
from meshsim.results.stats import denied

DEPLOY = viz.Resource("deploy")


@pytest.fixture(scope="module")
def istio(tmp_path_factory: pytest.TempPathFactory) -> SavedRun:
    return saved_run(ISTIO, tmp_path_factory.mktemp("viz-istio"))


@pytest.fixture(scope="module")
def run(istio: SavedRun) -> viz.VizRun:
    return viz.from_run_dir(istio.path)


def _attempts(istio: SavedRun, run: viz.VizRun) -> pd.DataFrame:
    frame = in_window(istio.results.attempts, run.warmup, run.duration)
    owner = owner_of(istio.results)
    return frame.assign(src=frame["caller"].astype(str).map(owner),
                        dst=frame["pod"].astype(str).map(owner))


def test_stat_per_deployment_equals_the_attempts_frame(istio: SavedRun, run: viz.VizRun) -> None:
    window = run.default_window
    table = viz.stat(run, window, DEPLOY).set_index("name")
    attempts = _attempts(istio, run)
    assert set(attempts["dst"]) <= set(table.index)
    for name, rows in attempts.groupby("dst"):
        row = table.loc[name]
        assert row["requests"] == len(rows)
        assert row["success"] == pytest.approx(rows["ok"].mean(), abs=1e-12)
        assert row["rps"] == pytest.approx(len(rows) / window.span)
        assert [row["latency_p50"], row["latency_p95"], row["latency_p99"]] == pytest.approx(
            quantiles(rows["latency"]))
        pairs = rows[["caller", "pod"]].astype(str).drop_duplicates()
        assert row["tcp_conn"] == len(pairs)
    # v2 fails 30 % of its attempts; the retries make frontend's view of reviews better.
    assert table.loc["reviews-v2", "success"] < 0.8 < table.loc["reviews-v1", "success"]
    assert table.loc["legacy", "meshed"] == "0/1"
    assert table.loc["frontend", "meshed"] == "2/2"
    assert np.isnan(table.loc["users", "success"])  # load clients receive nothing


def test_a_run_directory_gives_the_same_views_as_its_results(
    istio: SavedRun, run: viz.VizRun,
) -> None:
    fresh = viz.from_results(istio.results)
    window = run.default_window
    pd.testing.assert_frame_equal(viz.stat(fresh, window, DEPLOY), viz.stat(run, window, DEPLOY))
    pd.testing.assert_frame_equal(viz.edges(fresh, window, DEPLOY),
                                  viz.edges(run, window, DEPLOY))
    pd.testing.assert_frame_equal(viz.tap(fresh, window, limit=50), viz.tap(run, window,
                                                                            limit=50))


def test_stat_from_a_source_is_its_outbound_view(istio: SavedRun, run: viz.VizRun) -> None:
    window = run.window(since=4.0, until=10.0)
    table = viz.stat(run, window, viz.Resource("svc"), from_=viz.parse_resource("frontend"))
    attempts = in_window(istio.results.attempts, 4.0, 10.0)
    sent = attempts[attempts["caller"].astype(str).str.startswith("frontend-")]
    row = table.set_index("name").loc["reviews"]
    assert row["requests"] == len(sent)
    assert row["success"] == pytest.approx(sent["ok"].mean())
    assert row["rps"] == pytest.approx(len(sent) / 6.0)
    assert table.set_index("name").loc["frontend", "requests"] == 0


def test_routes_wide_shows_effective_and_actual(istio: SavedRun, run: viz.VizRun) -> None:
    window = run.default_window
    table = viz.routes(run, window, viz.parse_resource("deploy/frontend"),
                       to=viz.parse_resource("svc/reviews"), wide=True)
    assert list(table["route"]) == ["GET /reviews/1"]
    row = table.iloc[0]
    calls = in_window(istio.results.calls, run.warmup, run.duration)
    calls = calls[calls["caller"].astype(str).str.startswith("frontend-")
                  & (calls["service"] == "reviews") & ~calls["mirror"]]
    attempts = in_window(istio.results.attempts, run.warmup, run.duration)
    attempts = attempts[attempts["caller"].astype(str).str.startswith("frontend-")]
    assert row["effective_requests"] == len(calls)
    assert row["actual_requests"] == len(attempts)
    assert row["effective_success"] == pytest.approx(calls["ok"].mean())
    assert row["actual_success"] == pytest.approx(attempts["ok"].mean())
    assert row["effective_rps"] == pytest.approx(len(calls) / window.span)
    assert row["actual_rps"] == pytest.approx(len(attempts) / window.span)
    assert row["latency_p99"] == pytest.approx(quantiles(calls["latency"])[2])
    # Retries on 5xx: more attempts than calls, and the callers see fewer failures.
    assert row["actual_rps"] > row["effective_rps"]
    assert row["effective_success"] > row["actual_success"]


def test_routes_inbound_names_each_callers_route(run: viz.VizRun) -> None:
    table = viz.routes(run, run.default_window, viz.parse_resource("svc/reviews"))
    assert set(table["route"]) == {"GET /reviews/1", "GET /reviews/legacy"}
    frontend = viz.routes(run, run.default_window, viz.parse_resource("deploy/frontend"))
    # users send two kinds of request and meshsim does not record which: both are named.
    assert list(frontend["route"]) == ["GET /productpage|POST /cart"]


def test_edges_are_the_caller_destination_pairs_with_mtls(
    istio: SavedRun, run: viz.VizRun,
) -> None:
    table = viz.edges(run, run.default_window, DEPLOY)
    attempts = _attempts(istio, run)
    counts = attempts.groupby(["src", "dst"]).size()
    assert {(r.src, r.dst): r.requests for r in table.itertuples()} == counts.to_dict()
    secured = {(r.src, r.dst): r.secured for r in table.itertuples()}
    assert secured[("frontend", "reviews-v1")] == "√"
    assert secured[("users", "frontend")] == "√"
    assert secured[("legacy", "reviews-v2")].startswith("×")  # no sidecar: plaintext
    assert secured[("batch", "legacy")].startswith("×")
    wide = table.set_index(["src", "dst"])
    assert wide.loc[("frontend", "reviews-v2"), "client_id"] == \
        "cluster.local/ns/default/sa/frontend"
    assert wide.loc[("frontend", "reviews-v2"), "server_id"] == \
        "cluster.local/ns/default/sa/reviews"
    assert wide.loc[("legacy", "reviews-v1"), "client_id"] == ""


def test_top_counts_every_attempt_by_pod_pair(istio: SavedRun, run: viz.VizRun) -> None:
    table = viz.top(run, run.default_window)
    attempts = _attempts(istio, run)
    assert table["count"].sum() == len(attempts)
    assert list(table["count"]) == sorted(table["count"], reverse=True)
    grouped = attempts.assign(caller=attempts["caller"].astype(str),
                              pod=attempts["pod"].astype(str)).groupby(["caller", "pod"])
    for row in table.itertuples():
        rows = grouped.get_group((row.source, row.destination))
        assert row.count == len(rows)
        assert row.best == rows["latency"].min()
        assert row.worst == rows["latency"].max()
        assert row.last == rows.sort_values("end")["latency"].iloc[-1]
        assert row.success_rate == pytest.approx(rows["ok"].mean())


TAP_LINE = re.compile(
    r"^(req id=\d+:\d+ proxy=(in|out) src=\S+ dst=\S+ tls=(true|no_identity) :method=\S+ "
    r":authority=\S+\.svc\.cluster\.local:80 :path=\S+"
    r"|rsp id=\d+:\d+ proxy=(in|out) src=\S+ dst=\S+ tls=\S+ :status=\d+ latency=\d+µs"
    r"|end id=\d+:\d+ proxy=(in|out) src=\S+ dst=\S+ tls=\S+ "
    r"(reset-error=CANCEL )?duration=\d+µs response-length=0B)$"
)


def test_tap_prints_each_attempt_in_linkerds_format(istio: SavedRun, run: viz.VizRun) -> None:
    window = run.window(since=5.0, until=6.0)
    events = viz.tap(run, window)
    attempts = in_window(istio.results.attempts, 5.0, 6.0)
    assert all(TAP_LINE.match(line) for line in events["line"]), events["line"].head()
    assert (events["event"] == "req").sum() == len(attempts)  # every caller or pod is meshed
    assert (events["event"] == "rsp").sum() == int((attempts["status"] != 0).sum())
    assert list(events["time"]) == sorted(events["time"])
    failed = events[(events["event"] == "rsp") & (events["status"] >= 500)]
    assert len(failed) == int((attempts["status"] >= 500).sum()) > 0
    plaintext = events[events["src"].str.startswith("legacy-")]
    assert set(plaintext["proxy"]) == {"in"} and set(plaintext["tls"]) == {"no_identity"}


def test_windows(run: viz.VizRun) -> None:
    assert run.window(last=5.0) == viz.Window(7.0, 12.0)
    assert run.window(since=3.0) == viz.Window(3.0, 12.0)
    assert run.default_window == viz.Window(2.0, 12.0)
    with pytest.raises(viz.VizError, match="empty time window"):
        run.window(since=6.0, until=6.0)
    with pytest.raises(viz.VizError, match="not both"):
        run.window(since=1.0, last=2.0)


def test_resource_arguments() -> None:
    assert viz.parse_resource("deploy/web") == viz.Resource("deploy", "web")
    assert viz.parse_resource("svc") == viz.Resource("svc")
    assert viz.parse_resource("po/web-0") == viz.Resource("pod", "web-0")
    assert viz.parse_resource("web") == viz.Resource("deploy", "web")
    with pytest.raises(viz.VizError, match="unknown resource type"):
        viz.parse_resource("gadget/web")
    with pytest.raises(viz.VizError, match="name is missing"):
        viz.parse_resource("deploy/")


def test_authz_counts_the_requests_a_policy_refused(tmp_path: Path) -> None:
    saved = saved_run(AUTHZ, tmp_path, **{"spec.duration": "6s"})
    run = viz.from_run_dir(saved.path)
    window = run.default_window
    table = viz.authz(run, window, DEPLOY).set_index(["server", "client"])
    attempts = in_window(saved.results.attempts, run.warmup, run.duration)
    stray = attempts[attempts["caller"].astype(str).str.startswith("stray-")]
    row = table.loc[("reviews", "cluster.local/ns/default/sa/stray")]
    assert row["unauthorized"] == pytest.approx(int(denied(stray).sum()) / window.span)
    assert row["unauthorized"] > 0 and row["authorized"] == 0
    allowed = table.loc[("reviews", "cluster.local/ns/default/sa/frontend")]
    assert allowed["unauthorized"] == 0 and allowed["authorized"] > 0


def test_linkerd_run_names_namespaces_and_linkerd_identities(tmp_path: Path) -> None:
    saved = saved_run(LINKERD, tmp_path, **{"spec.duration": "6s"})
    run = viz.from_run_dir(saved.path)
    edges = viz.edges(run, run.default_window, DEPLOY)
    row = edges.iloc[0]
    assert (row["src"], row["dst"], row["src_ns"], row["dst_ns"]) == (
        "clients", "my-service", "default", "my-namespace")
    assert (row["client_id"], row["server_id"], row["secured"]) == (
        "clients.default", "my-service.my-namespace", "√")
    stat = viz.stat(run, run.default_window, viz.Resource("ns")).set_index("name")
    assert stat.loc["my-namespace", "meshed"] == "3/3"
    routes = viz.routes(run, run.default_window, viz.parse_resource("svc/my-service"),
                        wide=True)
    assert routes.iloc[0]["actual_requests"] > routes.iloc[0]["effective_requests"]  # retries
