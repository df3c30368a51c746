"""``Results``: what ``meshsim.simulate`` returns, a lazy view over one run's recording.

Nothing is decoded until asked for: a sweep that only reads the summary never builds the
attempts frame. Each frame is computed once and cached; treat them as read-only (they share
memory with the recording). A run that streamed its rows to a run directory (``rows``) reads
the row frames from its Parquet datasets on first use; :meth:`Results.sql` queries them with
DuckDB without loading them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from meshsim.metrics import Recording
from meshsim.metrics.aggregates import Aggregates, windows_for
from meshsim.model import Model
from meshsim.results import (
    backlog,
    clients,
    cost,
    frames,
    otlp,
    plots,
    recovery,
    refusals,
    rollout_plots,
    slo,
    store,
)
from meshsim.results import fault_windows as fault_timeline
from meshsim.results import places as place_views
from meshsim.results import rollout as rollout_report
from meshsim.results.online import Online, online_requests
from meshsim.results.online_edges import edge_summary
from meshsim.results.online_series import timeseries_online
from meshsim.results.online_summary import (
    latency_sketches,
    summarize_online,
    summarize_workloads_online,
)
from meshsim.results.record import RecordLevel, stored_tables
from meshsim.results.rows import RowStore, sql_over_frames
from meshsim.results.viz.mesh import mesh_info
from meshsim.units import format_duration


class Results:
    """The frames, summaries, SLO checks and plots of one simulation run."""

    def __init__(
        self, model: Model, recording: Recording, *, wall_time: float = 0.0,
        scenario_meta: Mapping[str, Any] | None = None, rows: RowStore | None = None,
        record: RecordLevel = "all",
    ) -> None:
        self.model = model
        self.recording = recording
        self.rows = rows  # the run directory the rows streamed to (None: in memory)
        self.record: RecordLevel = record
        self.wall_time = float(wall_time)
        self.scenario_meta: dict[str, Any] = dict(scenario_meta or {})

    # -- identity -------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self.model.seed

    @property
    def name(self) -> str:
        return str(self.scenario_meta.get("name", self.model.name))

    @property
    def duration(self) -> float:
        return self.model.duration

    @property
    def warmup(self) -> float:
        return self.model.warmup

    @property
    def horizon(self) -> float:
        """Where the time series ends: the run's duration, or later if the engine ran on."""
        return max(self.model.duration, self.recording.end_time)

    # -- frames (DESIGN §4) ---------------------------------------------------------------
    @cached_property
    def requests(self) -> pd.DataFrame:
        """One row per end-to-end workload request."""
        if self.rows is not None:
            return self.rows.frame("requests")
        return frames.requests_frame(self.recording)

    @cached_property
    def attempts(self) -> pd.DataFrame:
        """One row per attempt of one hop call (empty when attempts were not recorded)."""
        if self.rows is not None:
            return self.rows.frame("attempts")
        return frames.attempts_frame(self.recording)

    @cached_property
    def calls(self) -> pd.DataFrame:
        """One row per hop call with all its retries."""
        if self.rows is not None:
            return self.rows.frame("calls")
        return frames.calls_frame(self.recording)

    def sql(self, query: str) -> pd.DataFrame:
        """Run DuckDB SQL over the run's tables (``requests``, ``calls``, ``attempts``,
        ``events``, ``timeseries``, ``summary``, each a view of its name). A run with a run
        directory is queried on disk, without loading its rows into memory."""
        if self.rows is not None:
            return self.rows.sql(query)
        named = [name for name in store.TABLES if name in query]
        return sql_over_frames({name: getattr(self, name) for name in named}, query)

    @property
    def stored_tables(self) -> tuple[str, ...]:
        """The row tables this run's record level stores (``record``)."""
        return stored_tables(self.record)

    @cached_property
    def proxy_cost(self) -> pd.DataFrame:
        """One row per proxy instance when the scenario models proxy cost (``spec.proxy.cost``):
        requests, CPU seconds and cores, utilization, memory, connections, queueing wait
        (:mod:`meshsim.results.cost`). Empty without a cost model."""
        return cost.proxy_cost_frame(self.recording.proxy_cost)

    @property
    def proxy_cost_by_service(self) -> pd.DataFrame:
        """``proxy_cost`` summed per service and role (sidecar, ztunnel, waypoint)."""
        return cost.by_service(self.proxy_cost)

    @property
    def data_plane_cost(self) -> dict[str, float]:
        """The run's total data-plane cost: proxies, CPU seconds and cores, memory (MB)."""
        return cost.totals(self.proxy_cost, self.duration)

    @cached_property
    def events(self) -> pd.DataFrame:
        """Ejections, fault windows, canary steps and other state changes."""
        return frames.events_frame(self.recording)

    @cached_property
    def online(self) -> Online:
        """What the summaries, time series, SLOs and verdicts read: the aggregates kept
        during the run (built from the recorded rows for a recording that has none)."""
        rec = self.recording
        aggregates = rec.aggregates
        if aggregates is None:
            windows = windows_for(self.warmup, self.duration,
                                  [exp.window for exp in self.model.expectations])
            aggregates = Aggregates.of_columns(
                rec.calls, rec.attempts, bucket=rec.bucket, windows=windows,
                duration=self.duration,
            )
        client_workload = rec.client_workload or _client_workload(rec)
        return Online(aggregates, rec.names, client_workload)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """Per second, per service and subset: load, outcomes, latency and levels."""
        return timeseries_online(
            self.online, self.recording.levels, horizon=self.horizon,
            bucket=self.recording.bucket, services=self.model.topology.services,
        )

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Per service and subset over calls that start after warm-up."""
        return summarize_online(
            self.online, self.events, start=self.warmup, end=self.duration,
            services=self.model.topology.services,
        )

    @cached_property
    def workloads(self) -> pd.DataFrame:
        """Per workload over end-to-end requests that start after warm-up: for a workload
        with an app client, its user requests over their tries (``attempts``: tries)."""
        frame = summarize_workloads_online(
            self.online, start=self.warmup, end=self.duration,
            workloads=[w.name for w in self.model.workloads],
        )
        names = self.per_user_workloads
        if not names:
            return frame
        return clients.per_user_workloads(frame, self.user_request_rows, names,
                                          start=self.warmup, end=self.duration)

    @property
    def per_user_workloads(self) -> set[str]:
        """Workloads whose table rows and SLOs count user requests, not the client's tries:
        those with an app client, when the run's rows are at hand (docs/clients.md)."""
        held = self.rows is not None or not self.recording.streamed
        return {w.name for w in self.model.workloads if w.client is not None} if held else set()

    @cached_property
    def user_request_rows(self) -> pd.DataFrame:
        """The user requests of workloads with an app client, as requests rows
        (``attempts``: the client's tries), finished ones only."""
        return clients.user_request_rows(self.requests, self.recording.users_done)

    @cached_property
    def edges(self) -> pd.DataFrame:
        """Per edge of the service graph (caller's service or workload → service) over calls
        that start after warm-up: requests, errors, p50/p95/p99 (:mod:`.online_edges`)."""
        return edge_summary(self.online, mesh_info(self.model), start=self.warmup,
                            end=self.duration)

    def latency_sketches(self) -> dict[str, Any]:
        """The summary window's latency sketches per service/subset and per workload
        (JSON-ready; what ``latency.json`` of a run directory holds): merge them over seeds
        for quantiles of all runs together."""
        return latency_sketches(
            self.online, start=self.warmup, end=self.duration,
            services=self.model.topology.services,
            workloads=[w.name for w in self.model.workloads],
        )

    @cached_property
    def recovery(self) -> pd.DataFrame:
        """Per workload: recovered after the faults (and how fast), collapsed, or cannot tell."""
        return recovery.frame(
            recovery.verdicts_online(self.model, self.online, issued=self.recording.issued)
        )

    @cached_property
    def backlog(self) -> pd.DataFrame:
        """Per service: requests queued and in flight at the end and at peak (where a
        metastable state sits), largest backlog at the end first."""
        return backlog.backlog(self.timeseries, self.model.topology.services)

    # -- clients ---------------------------------------------------------------------------
    @cached_property
    def user_requests(self) -> pd.DataFrame:
        """One row per user request over all its client tries (docs/clients.md);
        ``answered``: false for one an app client was still trying when the run ended."""
        users = clients.user_requests(self.requests)
        with_client = [w.name for w in self.model.workloads if w.client is not None]
        mine = users["workload"].astype(str).isin(with_client).to_numpy()
        done = np.isin(users["id"].to_numpy(dtype=np.int64), self.recording.users_done)
        return users.assign(answered=~mine | done)

    @cached_property
    def amplification(self) -> pd.DataFrame:
        """Per workload and layer (client, proxy, each hop below): attempts per unit entering
        the layer and per user request, over user requests starting after warm-up."""
        return clients.amplification(self.requests, self.calls, start=self.warmup,
                                     end=self.duration,
                                     dependency_tries=self.recording.dependency_tries)

    def amplification_between(self, start: float, end: float) -> pd.DataFrame:
        """:attr:`amplification` over user requests starting in [start, end) (a fault's)."""
        return clients.amplification(self.requests, self.calls, start=start, end=end,
                                     dependency_tries=self.recording.dependency_tries)

    def offered_load(self, bucket: float = 1.0) -> pd.DataFrame:
        """Per workload and ``bucket`` of seconds: offered, sent, admitted and goodput rates."""
        proxies = {client: w.name for w in self.model.workloads for client in w.client_names()}
        return clients.load_over_time(self.requests, self.events, proxies, bucket=bucket,
                                      horizon=self.duration)

    @property
    def attempt_count(self) -> int:
        """Attempts made: recorded rows, or the calls' attempt counts when not recorded."""
        agg = self.online.aggregates
        return agg.attempt_rows if agg.attempt_rows else agg.call_attempts

    # -- SLOs -----------------------------------------------------------------------------
    def slo(self) -> pd.DataFrame:
        """One row per expectation: value, bounds, ``passed`` and a one-line description."""
        return self._slo.copy()

    @cached_property
    def _slo(self) -> pd.DataFrame:
        run = slo.RunFrames(
            online=self.online, events=self.events, workloads=self.model.workloads,
            warmup=self.warmup, duration=self.duration,
            still_open=self.online.aggregates.request_ids.open_requests(
                self.recording.issued, self.duration),
            per_user=frozenset(self.per_user_workloads),
            user_rows=self.user_request_rows if self.per_user_workloads else None,
        )
        return slo.evaluate(run, self.model.expectations)

    @property
    def passed(self) -> bool:
        """Whether every expectation held (true when there are none) and nothing was refused."""
        return bool(self._slo["passed"].all()) and self.refused.empty

    @cached_property
    def refused(self) -> pd.DataFrame:
        """Workloads and services whose every call after warm-up was answered 4xx (denied):
        an implicit check that fails the run (``meshsim.results.refusals``)."""
        return refusals.refusals_online(
            self.online, start=self.warmup, end=self.duration,
            workloads=self.model.workloads, expectations=self.model.expectations,
        )

    # -- progressive delivery (Flagger, Argo Rollouts) -----------------------------------
    @cached_property
    def rollout(self) -> pd.DataFrame:
        """Per rollout: outcome, time to decision, weight reached, checks, canary load and
        users hurt (``meshsim.results.rollout.SUMMARY_COLUMNS``); empty without a rollout.
        Canary exposure follows call trees, so it reads the ``requests`` and ``calls`` rows: a
        run without a rollout never touches them (nor its stored Parquet)."""
        if not rollout_report.rollouts(self.events):
            empty = pd.DataFrame()
            return rollout_report.summarize(self.events, empty, empty, end=self.horizon)
        return rollout_report.summarize(self.events, self.requests, self.calls, end=self.horizon)

    def rollout_decisions(self) -> pd.DataFrame:
        """The controllers' decisions: weight moves, checks (metric, value, passed), outcome."""
        return rollout_report.decisions(self.events)

    def plot_rollout(self, name: str | None = None) -> Figure:
        """Canary weight with check outcomes, and per-version success rate and p99."""
        found = rollout_report.rollouts(self.events)
        chosen = [r for r in found if name is None or r.name == name]
        if not chosen:
            raise ValueError(
                f"no rollout {name!r} in this run" if name else "this run has no rollout"
            )
        specs = [s.target for s in self.model.rollouts if s.name == chosen[0].name]
        versions = [(v.service, v.subset or "") for t in specs[:1] for v in (t.primary, t.canary)]
        return rollout_plots.plot_rollout(
            chosen[0], self.events, self.timeseries, end=self.horizon,
            bucket=self.recording.bucket, title=self.name, versions=versions,
        )

    def rollout_figures(self) -> dict[str, Figure]:
        """One rollout plot per rollout, by file stem (``rollout`` or ``rollout-<name>``)."""
        found = rollout_report.rollouts(self.events)
        return {
            "rollout" if len(found) == 1 else f"rollout-{r.name}": self.plot_rollout(r.name)
            for r in found
        }

    # -- plots and storage ----------------------------------------------------------------
    def fault_windows(self) -> list[fault_timeline.FaultWindow]:
        return fault_timeline.fault_windows(self.events, self.horizon, self.model.faults)

    @cached_property
    def places(self) -> pd.DataFrame:
        """Each pod's (and east-west gateway host's) cluster, network, region and zone."""
        return place_views.pod_places(self.model)

    def zone_shares(self, service: str, bucket: float = 1.0) -> pd.DataFrame:
        """Each cluster/zone's share of ``service``'s attempts per time bucket."""
        return place_views.zone_shares(self.attempts, self.places, service, bucket)

    def by_place(self) -> pd.DataFrame:
        """Golden metrics of the attempts after warm-up per service, cluster and zone."""
        return place_views.by_place(self.attempts, self.places, self.warmup, self.horizon)

    def gateways(self) -> pd.DataFrame:
        """Multi-cluster gateways: cluster, liveness, services, latency through them."""
        return place_views.gateways(self.attempts, self.events)

    def plot_zone_shares(self, service: str, bucket: float = 1.0) -> Figure:
        """Per-zone traffic share of ``service`` through the run (multi-cluster)."""
        return place_views.plot_zone_shares(self.zone_shares(service, bucket), service)

    def plot(self) -> Figure:
        """Throughput, success rate (per subset too) and latency of every service over time,
        and the proxies' local replies and ejections when there were any."""
        return plots.overview(
            self.timeseries, self.fault_windows(), warmup=self.warmup, duration=self.horizon,
            title=self.name, bucket=self.recording.bucket, events=self.events,
        )

    def figures(self) -> dict[str, Figure]:
        """The overview and each panel alone, keyed by file stem."""
        return plots.figures(
            self.timeseries, self.fault_windows(), warmup=self.warmup, duration=self.horizon,
            title=self.name, bucket=self.recording.bucket, events=self.events,
        )

    def save(self, out_dir: str | Path, *, plots: bool = True, force: bool = False) -> Path:
        """Write the run directory (Parquet, CSV, PNG, run.json) atomically and return its
        path; an existing run there is replaced only with ``force``."""
        return store.write_run(self, out_dir, plots=plots, force=force)

    def traces(self, *, sample: float = 1.0, seed: int | None = None) -> dict[str, Any]:
        """The run's requests as OTLP JSON spans (``TracesData``), whole traces kept with
        probability ``sample`` by a draw seeded from the run's seed (:mod:`.otlp`)."""
        return otlp.traces_data(otlp.SpanSource(
            self.requests, self.calls, self.attempts, otlp.wire_of(self.model), self.seed,
        ), sample=sample, seed=seed)

    def run_info(self) -> dict[str, Any]:
        """What ``run.json`` holds: reproduction keys, performance and SLO outcomes."""
        return store.run_info(self)

    def __repr__(self) -> str:
        requests, after = online_requests(self.online, self.warmup, self.duration)
        ok = f"{after['success_rate']:.2%} ok" if after["requests"] else \
            "no requests after warm-up"
        p99 = format_duration(float(after["p99"])) if after["requests"] else "-"
        checks = self._slo
        slo_text = (
            f"SLOs {int(checks['passed'].sum())}/{len(checks)} passed" if len(checks)
            else "no SLOs"
        )
        return (
            f"<Results {self.name!r} seed={self.seed}: {requests:,} requests over "
            f"{format_duration(self.duration)} (warm-up {format_duration(self.warmup)}), "
            f"{ok}, p99 {p99}; {slo_text}; wall {self.wall_time:.2f}s>"
        )


def _client_workload(recording: Recording) -> dict[int, int]:
    """Client code -> workload code as the requests recorded them (hand-built recordings)."""
    requests = recording.requests
    if not len(requests.get("client", ())):
        return {}
    pairs = np.unique(np.stack([requests["client"], requests["workload"]], axis=1), axis=0)
    return {int(client): int(workload) for client, workload in pairs}
