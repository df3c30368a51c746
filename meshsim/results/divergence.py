"""Where two meshes' runs of one intent differ, and the proxy rule that explains it.

Used by ``meshsim compare --meshes`` (:mod:`meshsim.experiments.meshes`). A row *diverges* when
success rates differ by more than 1 point, p99 by more than 25 % (and 1 ms), or retries per
request by more than 2x (and 0.05); each divergence names the rule of the mesh that behaves so
(reference/envoy-istio.md, linkerd.md): Envoy's counted retries with per-try timeouts, Linkerd's
budgeted retries (a ratio of recent requests), P2C-EWMA vs least request, failure accrual vs
outlier ejection, 403 vs refused connections.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from meshsim.results.results import Results

Renames = dict[str, tuple[str, str]]  # service in the run -> (service, subset) it stands for
SUCCESS_GAP = 0.01
P99_RATIO = 1.25
P99_FLOOR = 1e-3
RETRY_RATIO = 2.0
RETRY_FLOOR = 0.05


@dataclass(frozen=True)
class RenamedRun:
    """A run whose per-version Services (Linkerd) read as subsets of one service (Istio)."""

    run: Results
    renames: Renames

    @staticmethod
    def view(run: Results, renames: Renames) -> RenamedRun:
        return RenamedRun(run, renames)

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def seed(self) -> int:
        return self.run.seed

    @property
    def passed(self) -> bool:
        return self.run.passed

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.renames or "service" not in frame:
            return frame
        frame = frame.copy()
        for column in ("service", "subset"):  # categories: new values need plain strings
            if column in frame:
                frame[column] = frame[column].astype(object)
        for new, (host, version) in self.renames.items():
            rows = frame["service"] == new
            frame.loc[rows, "subset"] = version
            frame.loc[rows, "service"] = host
        return frame

    @property
    def summary(self) -> pd.DataFrame:
        """Subset rows renamed; the apex Service's own row (no traffic of its own: the route
        sends everything to the versions' Services) becomes their sum (counts and rates
        added, success rate weighted; percentiles cannot be added, so they are NaN)."""
        frame = self._frame(self.run.summary)
        for host in {host for host, _ in self.renames.values()}:
            parts = frame[(frame["service"] == host) & (frame["subset"].fillna("") != "")]
            apex = (frame["service"] == host) & (frame["subset"].fillna("") == "")
            if not len(parts) or not apex.any():
                continue
            requests = float(parts["requests"].sum())
            for column in ("requests", "rps", "retries", "timeouts", "overflows", "ejections",
                           "attempts", "denied", "client_errors"):
                if column in frame:
                    frame.loc[apex, column] = parts[column].sum()
            if requests:
                frame.loc[apex, "success_rate"] = float(
                    (parts["success_rate"] * parts["requests"]).sum() / requests)
                frame.loc[apex, "retry_ratio"] = float(parts["retries"].sum() / requests)
            for column in ("p50", "p90", "p99", "mean_latency"):
                if column in frame:
                    frame.loc[apex, column] = math.nan
        return frame

    @property
    def workloads(self) -> pd.DataFrame:
        return self.run.workloads

    @property
    def timeseries(self) -> pd.DataFrame:
        return self._frame(self.run.timeseries)

    def slo(self) -> pd.DataFrame:
        frame = self._frame(self.run.slo())
        for new, (host, version) in self.renames.items():
            frame["expectation"] = frame["expectation"].str.replace(
                rf"\b{re.escape(new)}\b", f"{host}/{version}", regex=True)
        return frame


def cost_side_by_side(a: Results, b: Results, renames: Sequence[Renames]) -> pd.DataFrame:
    """Per service: proxies, CPU seconds and memory of each mesh's proxies (empty without a
    cost model on either side)."""
    frames = []
    for side, run, names in (("a", a, renames[0]), ("b", b, renames[1])):
        frame = run.proxy_cost_by_service.copy()
        if frame.empty:
            continue
        frame["service"] = frame["service"].map(lambda s, n=names: n.get(s, (s, ""))[0])
        frame = frame.groupby("service", as_index=False)[
            ["proxies", "cpu_seconds", "memory_mb"]].sum()
        frames.append(frame.set_index("service").add_suffix(f"_{side}"))
    if len(frames) < 2:
        return pd.DataFrame()
    return frames[0].join(frames[1], how="outer").reset_index()


def _f(row: Mapping[Any, Any], key: str) -> float:
    value = row.get(key)
    return float(value) if value is not None else math.nan


def retry_ratios(summary: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(service, subset) → retries per request (``summary.retry_ratio``)."""
    return {(str(r["service"]), str(r["subset"] or "")): float(r["retry_ratio"])
            for r in summary.fillna({"subset": ""}).to_dict("records")}


def divergences(table: pd.DataFrame, meshes: Sequence[str],
                ratios: tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]],
                ) -> Iterator[str]:
    """One line per service row where the two runs differ beyond the thresholds above."""
    mesh_a, mesh_b = meshes
    totals = {str(r["name"]): (_f(r, "rps_a"), _f(r, "rps_b"))
              for r in table.to_dict("records") if r["kind"] == "service" and not r["subset"]}
    for row in table.to_dict("records"):
        if row["kind"] != "service":
            continue
        if row["subset"] and str(row["name"]) in totals:
            yield from _share(row, totals[str(row["name"])], meshes)
        name = str(row["name"]) + (f"/{row['subset']}" if row["subset"] else "")
        sa, sb = _f(row, "success_rate_a"), _f(row, "success_rate_b")
        pa, pb = _f(row, "p99_a"), _f(row, "p99_b")
        key = (str(row["name"]), str(row["subset"] or ""))
        ra, rb = ratios[0].get(key, math.nan), ratios[1].get(key, math.nan)
        if _differs(ra, rb, RETRY_RATIO, RETRY_FLOOR):
            more = mesh_a if ra > rb else mesh_b
            yield (f"{name}: retries per request {ra:.2f} ({mesh_a}) vs {rb:.2f} ({mesh_b}): "
                   f"{_why_retries(more)}")
        if not math.isnan(sa) and not math.isnan(sb) and abs(sa - sb) > SUCCESS_GAP:
            worse = mesh_a if sa < sb else mesh_b
            yield (f"{name}: success {sa:.2%} ({mesh_a}) vs {sb:.2%} ({mesh_b}): {worse} "
                   f"fails more; {_why_failures(worse, row)}")
        if _differs(pa, pb, P99_RATIO, P99_FLOOR):
            slower = mesh_a if pa > pb else mesh_b
            yield (f"{name}: p99 {pa * 1e3:.1f}ms ({mesh_a}) vs {pb * 1e3:.1f}ms ({mesh_b}): "
                   f"{_why_latency(slower)}")
        ea, eb = _f(row, "ejections_a"), _f(row, "ejections_b")
        if not math.isnan(ea) and not math.isnan(eb) and (ea == 0) != (eb == 0):
            yield (f"{name}: ejections {ea:.0f} ({mesh_a}) vs {eb:.0f} ({mesh_b}): Envoy ejects "
                   "on an interval sweep under maxEjectionPercent; Linkerd's failure accrual "
                   "ejects at once, with no cap")


def _share(row: Mapping[Any, Any], total: tuple[float, float],
           meshes: Sequence[str]) -> Iterator[str]:
    """A subset's share of its service's requests: the balancers' choice made visible."""
    ta, tb = total
    if not ta or not tb or math.isnan(ta) or math.isnan(tb):
        return
    sa, sb = _f(row, "rps_a") / ta, _f(row, "rps_b") / tb
    if _differs(sa, sb, RETRY_RATIO, 0.05):
        lower = meshes[0] if sa < sb else meshes[1]
        why = ("linkerd2-proxy's P2C weighs each endpoint's peak-EWMA latency, so a slow pod "
               "loses traffic at once" if lower == "linkerd" else
               "Envoy's least request weighs active requests only; here it sends less")
        yield (f"{row['name']}/{row['subset']}: share of requests {sa:.1%} ({meshes[0]}) vs "
               f"{sb:.1%} ({meshes[1]}): {why}")


def _differs(a: float, b: float, ratio: float, floor: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return False
    high, low = max(a, b), min(a, b)
    return high - low > floor and (low == 0 or high / low > ratio)


def _why_retries(more: str) -> str:
    if more == "istio":
        return ("Envoy retries each failed or timed-out try up to `attempts` (per-try timeouts "
                "count), at every hop; Linkerd's budget allows only a share of recent requests")
    return ("Linkerd retries whatever its budget allows (no count cap on a ServiceProfile); "
            "Envoy stops at `attempts` or its retry budget's concurrency")


def _why_failures(worse: str, row: Mapping[Any, Any]) -> str:
    if worse == "istio":
        return ("Envoy's counted retries multiply load under a fault, and per-try timeouts "
                "abandon work that goes on upstream")
    return ("Linkerd's budget leaves failures unretried once spent, and its balancer queue "
            "fails fast (503) after 3 s without an endpoint")


def _why_latency(slower: str) -> str:
    if slower == "istio":
        return ("least request spreads load by active requests only; a slow pod keeps its "
                "share until outlier detection ejects it (Envoy's proxy CPU is also higher)")
    return ("P2C over peak EWMA latency; Linkerd's retries re-enter the balancer, and its one "
            "proxy worker queues sooner")


def slo_verdicts(slo: pd.DataFrame, meshes: Sequence[str]) -> Iterator[str]:
    """``success_rate frontend >= 0.99: istio pass (99.5%), linkerd FAIL (97.0%)``."""
    for row in slo.to_dict("records"):
        cells = []
        for side, mesh in zip(("a", "b"), meshes, strict=True):
            passed = row.get(f"passed_{side}")
            outcome = row.get(f"outcome_{side}")
            if passed is None or passed != passed:
                cells.append(f"{mesh} -")
            elif outcome == "cannot tell":
                cells.append(f"{mesh} cannot tell")
            else:
                cells.append(f"{mesh} {'pass' if passed else 'FAIL'}")
        a_ok, b_ok = row.get("passed_a"), row.get("passed_b")
        both = ("both meet it" if a_ok is True and b_ok is True else
                "neither meets it" if a_ok is False and b_ok is False else
                f"only {meshes[0] if a_ok is True else meshes[1]} meets it"
                if {a_ok, b_ok} == {True, False} else "cannot tell")
        yield f"{row['expectation']}: {', '.join(cells)}: {both}"
