"""What ``meshsim run`` prints after a run: the tables and verdicts, or with ``--quiet`` only the
bad news.

Apart from :mod:`.main` because it is the run's report (golden metrics, workloads, requests
still open, recovery, backlog, rollout, denials and ejections, SLOs), while the command parses
options and runs the scenario. ``--json`` prints no report.
"""

from __future__ import annotations

from pathlib import Path

from pandas import DataFrame
from rich.console import Console
from rich.table import Table

from meshsim import Results
from meshsim.cli.common import unicode_ok
from meshsim.cli.render import (
    backlog_table,
    golden_table,
    outcome_text,
    place_table,
    slo_lines,
    workloads_table,
)
from meshsim.cli.render_clients import amplification_table, load_table
from meshsim.results.formatting import rollout_line
from meshsim.units import format_duration


def print_report(console: Console, results: Results, slo: DataFrame, run_dir: Path) -> None:
    console.print("golden metrics (after warm-up)", style="bold")
    console.print(golden_table(results.summary))
    if results.model.topology.geography is not None and "attempts" in results.stored_tables:
        console.print()
        console.print("golden metrics by cluster and zone (attempts, after warm-up)",
                      style="bold")
        console.print(place_table(results.by_place()))
    workloads = results.workloads
    if len(workloads):
        console.print()
        console.print("workloads (end to end)", style="bold")
        console.print(workloads_table(workloads))
        per_user = sorted(results.per_user_workloads)
        if per_user:
            console.print(f"{', '.join(per_user)}: user requests over their app client's tries "
                          "(ATTEMPTS: tries, RETRIES: the client's retries); the golden metrics "
                          "above count tries, as the mesh sees them", markup=False)
    _print_clients(console, results)
    _print_open(console, results, always=True)
    recovery = results.recovery
    if len(recovery):
        console.print()
        console.print("after the faults", style="bold")
        for row in recovery.itertuples():
            console.print(str(row.verdict), style=_RECOVERY_STYLE.get(str(row.outcome)),
                          markup=False)
    _print_backlog(console, results.backlog)
    rollout = results.rollout
    if len(rollout):
        console.print()
        console.print("rollout", style="bold")
        for row in rollout.itertuples():
            console.print(rollout_line(row), style=_ROLLOUT_STYLE.get(str(row.outcome)),
                          markup=False)
    _print_events(console, results.events)
    print_cost(console, results)
    if len(slo):
        console.print()
        console.print("SLOs", style="bold")
        _print_slo(console, slo, only_failures=False)
    console.print()
    console.print(f"run directory: {run_dir}", markup=False)


def _print_clients(console: Console, results: Results) -> None:
    """Amplification per layer and offered vs admitted vs goodput, for workloads whose
    clients are more than an open-loop rate (docs/clients.md)."""
    special = any(w.closed is not None or w.client is not None or w.max_vus or w.ramps
                  for w in results.model.workloads)
    if not special or not len(results.requests):
        return
    console.print()
    console.print("clients: attempts per layer (user requests after warm-up)", style="bold")
    console.print(amplification_table(results.amplification))
    console.print()
    console.print("clients: offered vs admitted vs goodput (mean after warm-up)", style="bold")
    console.print(load_table(results.offered_load(1.0), results.user_requests, results.warmup))


_ROLLOUT_STYLE = {"promoted": "green", "rolled back": "red", "paused": "yellow"}
_RECOVERY_STYLE = {"recovered": "green", "collapsed": "red", "cannot tell": "yellow"}


def _print_events(console: Console, events: DataFrame) -> None:
    """Denied edges one per line; ejections counted per detector and service."""
    denied = events[events["kind"] == "authz-deny"]
    if len(denied):
        console.print()
        console.print("denied by authorization policy", style="bold")
        for row in denied.itertuples():
            console.print(f"{row.proxy} → {row.pod}: {row.detail}", style="red", markup=False)
    ejects = events[events["kind"] == "eject"]
    if len(ejects):
        console.print()
        console.print("ejections", style="bold")
        grouped = ejects.groupby(["service", "pod", "detail"], observed=True)["time"]
        table = grouped.agg(["size", "min"]).reset_index()
        for row in table.itertuples():
            console.print(
                f"{row.pod} ({row.service}) ejected {row.size} time(s) by client proxies "
                f"({row.detail}), first at {row.min:.1f}s", markup=False,
            )


def print_refusals(err: Console, refused: DataFrame) -> None:
    """Every workload or service that got only 4xx answers: one loud line each, even --quiet."""
    for message in refused["message"]:
        err.print(f"refused: {message}", style="bold red", markup=False)


def _print_slo(console: Console, slo: DataFrame, *, only_failures: bool) -> None:
    unicode = unicode_ok()
    for outcome, line in slo_lines(slo):
        if not (only_failures and outcome == "pass"):
            console.print(outcome_text(outcome, line, unicode=unicode))


def _print_backlog(console: Console, backlog: DataFrame) -> None:
    """Where requests wait, per service, when any did: the queue holding a metastable state."""
    waiting = backlog[(backlog["queued_peak"] >= 0.5).to_numpy()]
    if len(waiting):
        console.print()
        console.print("where the backlog sits (queued and in flight at the end; peak)",
                      style="bold")
        console.print(backlog_table(waiting))


def print_quiet(console: Console, results: Results, slo: DataFrame) -> None:
    """``--quiet``: no tables, but every verdict that is not good news still prints: recovery
    that collapsed or cannot tell, a rollout not promoted, and SLOs that fail or cannot tell."""
    for row in results.recovery.itertuples():
        if row.outcome != "recovered":
            console.print(str(row.verdict), style=_RECOVERY_STYLE.get(str(row.outcome)),
                          markup=False)
    for row in results.rollout.itertuples():
        if row.outcome != "promoted":
            console.print(rollout_line(row), style=_ROLLOUT_STYLE.get(str(row.outcome)),
                          markup=False)
    _print_open(console, results, always=False)
    _print_slo(console, slo, only_failures=True)


def _print_open(console: Console, results: Results, *, always: bool) -> None:
    """Requests with no answer when the run ended are in no table (the tables count answered
    requests): say how many, so a stuck service cannot hide behind a 100 % SUCCESS.

    Some are always in flight; by Little's law about (answered per second) × (their mean
    latency). More than twice that (and over ten) means the answered ones do not speak for
    the rest: that is news, and ``--quiet`` prints it too."""
    still_open, issued = results.recording.in_flight_at_end, results.recording.issued
    agg = results.online.aggregates  # counts kept during the run: no rows re-read
    explained = (agg.request_latency / results.duration  # answered/s × their mean latency
                 if agg.request_rows and results.duration > 0 else 0.0)
    news = still_open > max(10.0, 2.0 * explained)
    if still_open <= 0 or not (always or news):
        return
    text = (f"still open at the end: {still_open:,} of {issued:,} requests issued "
            f"({still_open / issued:.1%}) had no answer when the run ended; the tables count "
            "answered requests only")
    if news:
        text += f" (the answered requests' latency explains about {explained:,.0f} in flight)"
    console.print(text, style="yellow" if news else "dim", markup=False)


def print_cost(console: Console, results: Results) -> None:
    """The data-plane cost table, when the scenario models proxy cost (``proxy.cost``)."""
    frame = results.proxy_cost_by_service
    if frame.empty:
        return
    profile = results.model.cost.profile if results.model.cost is not None else ""
    console.print()
    console.print(f"data-plane cost ({profile}, whole run)", style="bold", markup=False)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("SERVICE", "ROLE", "PROXIES", "REQUESTS", "CPU-S", "CORES", "MEMORY",
                   "MAX WAIT"):
        table.add_column(header, justify="left" if header in ("SERVICE", "ROLE") else "right")
    for row in frame.to_dict("records"):
        table.add_row(str(row["service"]) or "-", str(row["role"]), f"{row['proxies']:,}",
                      f"{row['requests']:,}", f"{row['cpu_seconds']:,.2f}",
                      f"{row['cpu_cores']:.3f}", f"{row['memory_mb']:,.0f}MB",
                      format_duration(float(row["wait_max"])))
    console.print(table)
    total = results.data_plane_cost
    console.print(f"total: {total['proxies']:.0f} proxies, {total['cpu_seconds']:,.2f} CPU-s "
                  f"({total['cpu_cores']:.3f} cores), {total['memory_mb']:,.0f} MB", markup=False)
