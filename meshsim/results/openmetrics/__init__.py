"""A run as OpenMetrics text with the meshes' own metric names and labels, so Prometheus
(``promtool tsdb create-blocks-from openmetrics``), Grafana dashboards and Flagger's PromQL
read simulated traffic as they read a cluster's.

``write_openmetrics(run, out, mesh="istio"|"linkerd", interval=5.0, epoch=...)`` writes
cumulative series sampled every ``interval`` seconds of simulated time from 0 to the end of
the run, at Unix time ``epoch + t``, and ends with ``# EOF``.
"""

from __future__ import annotations

from typing import TextIO

from meshsim.results.openmetrics import istio, linkerd
from meshsim.results.openmetrics.series import scrape_times
from meshsim.results.openmetrics.writer import write_counter, write_histogram
from meshsim.results.viz.run import VizError, VizRun

DEFAULT_EPOCH = 1704067200.0  # 2024-01-01T00:00:00Z: a fixed start, so exports are reproducible
MESHES = ("istio", "linkerd")


def horizon(run: VizRun) -> float:
    """The run's end: its duration, or the last answer if the engine ran on to drain."""
    ends = [float(f["end"].max()) for f in (run.calls, run.attempts) if len(f)]
    return max([run.duration, *ends])


def write_openmetrics(
    run: VizRun, out: TextIO, *, mesh: str, interval: float = 5.0,
    epoch: float = DEFAULT_EPOCH,
) -> None:
    if mesh not in MESHES:
        raise VizError(f"--mesh {mesh}: expected istio or linkerd")
    if not interval > 0:
        raise VizError("the scrape interval must be positive")
    if run.attempts.empty and not run.calls.empty:
        raise VizError(f"{run.name}: the run did not record attempts: the export needs them")
    at = scrape_times(horizon(run), interval)
    where = f"meshsim run {run.name}, simulated t=0 at Unix time {epoch:.0f}"
    if mesh == "istio":
        series = istio.istio_series(run.info, run.calls, run.attempts)
        write_counter(out, istio.REQUESTS, f"Requests by reporter ({where}).", series, at,
                      epoch)
        write_histogram(out, istio.DURATION, f"Request duration in ms ({where}).", series, at,
                        epoch, istio.BUCKETS)
    else:
        requests, responses, latency = linkerd.linkerd_series(run.info, run.attempts)
        write_counter(out, "request", f"Requests sent or received ({where}).", requests, at,
                      epoch)
        write_counter(out, "response", f"Responses by classification ({where}).", responses,
                      at, epoch)
        write_histogram(out, linkerd.LATENCY, f"Response latency in ms ({where}).", latency, at,
                        epoch, linkerd.BUCKETS)
    out.write("# EOF\n")
