"""Whether a scenario's SLOs hold with a stated confidence over many seeds, and JUnit XML of it.

One seed is one sample of what the system might do; an SLO that passes on seed 1 may fail on
seed 2. So each expectation is judged on the metric's values over N seeds:

* the mean ``m`` and sample standard deviation ``s`` over the seeds, and the one-sided Student-t
  bound ``h = t(confidence, N-1) * s / sqrt(N)``;
* a ``min`` bound holds when ``m - h >= min`` and a ``max`` bound when ``m + h <= max``: with
  the stated confidence the metric's expected value (over seeds) is on the right side;
* a seed on which the metric had no traffic (NaN) fails the SLO outright, as on one run.

The t bound is used rather than a bound on the per-seed pass rate (Clopper–Pearson) because it
needs far fewer seeds (10 all-passing seeds give a 95 % lower bound on the pass rate of only
0.74) and says by how much the metric clears its threshold. ``seeds passed`` (the per-seed
verdicts of ``meshsim run``) is reported alongside.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from meshsim.results.slo import format_value

VERDICT_COLUMNS = (
    "expectation", "metric", "service", "subset", "min", "max", "seeds", "seeds_passed", "mean",
    "std", "low", "high", "passed", "reason",
)


# -- Student's t without scipy ------------------------------------------------------------------
def t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3–4, exact)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    theta = math.atan(abs(t) / math.sqrt(df))
    c2, sin, cos = math.cos(theta) ** 2, math.sin(theta), math.cos(theta)
    if df % 2 == 1:
        total, term = (1.0, 1.0) if df > 1 else (0.0, 0.0)
        for k in range(3, df - 1, 2):  # 1 + 2/3 c² + (2·4)/(3·5) c⁴ + ...
            term *= (k - 1) / k * c2
            total += term
        inside = (2 / math.pi) * (theta + sin * cos * total)
    else:
        total, term = 1.0, 1.0
        for k in range(2, df - 1, 2):  # 1 + 1/2 c² + (1·3)/(2·4) c⁴ + ...
            term *= (k - 1) / k * c2
            total += term
        inside = sin * total
    return 0.5 + math.copysign(0.5 * inside, t)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (p in (0.5, 1))."""
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(100):  # bisection to double precision
        mid = (low + high) / 2
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


# -- verdicts -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SloVerdict:
    """One expectation over all seeds: how many passed, mean, interval, and the verdict."""

    expectation: str
    metric: str
    service: str
    subset: str
    min: float
    max: float
    seeds: int
    seeds_passed: int
    mean: float
    std: float
    low: float  # mean - one-sided bound (NaN with no data)
    high: float  # mean + one-sided bound
    passed: bool
    reason: str


@dataclass(frozen=True)
class CheckReport:
    """The verdicts of one scenario over ``seeds`` seeds at ``confidence``."""

    scenario: str
    file: str
    seeds: int
    confidence: float
    verdicts: tuple[SloVerdict, ...]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def frame(self) -> pd.DataFrame:
        """One row per expectation, :data:`VERDICT_COLUMNS`."""
        return pd.DataFrame(
            [[getattr(v, c) for c in VERDICT_COLUMNS] for v in self.verdicts],
            columns=list(VERDICT_COLUMNS),
        )


def _present(value: float) -> bool:
    return not math.isnan(value)


def judge(rows: pd.DataFrame, confidence: float) -> SloVerdict:
    """The verdict of one expectation from its per-seed rows (``meshsim.Results.slo`` rows)."""
    first = rows.iloc[0]
    metric = str(first["metric"])
    low_bound, high_bound = float(first["min"]), float(first["max"])
    values = rows["value"].to_numpy(dtype=float)
    outcome = rows["outcome"] if "outcome" in rows else pd.Series("", index=rows.index)
    undecided = outcome.eq("cannot tell").to_numpy()
    # a window the run does not reach has no value either, but that is not "no traffic"
    n, missing = len(values), int((pd.isna(values) & ~undecided).sum())
    data = values[~pd.isna(values)]
    mean = float(data.mean()) if len(data) else math.nan
    std = float(data.std(ddof=1)) if len(data) > 1 else math.nan
    half = t_quantile(confidence, n - 1) * std / math.sqrt(n) if n > 1 and not missing else math.nan
    low, high = mean - half, mean + half
    level = f"{confidence:.0%}"
    refused = [str(r) for r in rows["refused"] if r] if "refused" in rows else []
    if missing:
        passed, reason = False, f"no traffic on {missing} of {n} seeds"
    elif refused:  # a workload or service got only 4xx answers: the run failed, whatever SLOs say
        passed, reason = False, f"refused on {len(refused)} of {n} seeds: {refused[0]}"
    elif any(undecided):  # a window the runs do not cover: partial values decide nothing
        note = str(rows["note"].to_numpy()[undecided][0]) if "note" in rows else ""
        passed, reason = False, f"cannot tell on {sum(undecided)} of {n} seeds: {note}"
    elif math.isnan(half):
        passed, reason = False, "one seed gives no interval"
    else:
        failures = []
        if _present(low_bound) and low < low_bound:
            failures.append(
                f"{level} lower bound {format_value(metric, low)} < min "
                f"{format_value(metric, low_bound)}"
            )
        if _present(high_bound) and high > high_bound:
            failures.append(
                f"{level} upper bound {format_value(metric, high)} > max "
                f"{format_value(metric, high_bound)}"
            )
        passed = not failures
        reason = "; ".join(failures) or f"holds with {level} confidence"
    return SloVerdict(
        expectation=str(first["expectation"]), metric=metric, service=str(first["service"]),
        subset=str(first["subset"]) if isinstance(first["subset"], str) else "",
        min=low_bound, max=high_bound, seeds=n, seeds_passed=int(rows["passed"].sum()),
        mean=mean, std=std, low=low, high=high, passed=passed, reason=reason,
    )


def assess(
    scenario: str, per_seed: pd.DataFrame, confidence: float, *, file: str = "", seeds: int = 0,
) -> CheckReport:
    """Verdicts from ``per_seed``: a ``seed`` column plus the SLO rows of each seed's run.

    Every seed lists the same expectations in the same order (the scenario's ``expect``).
    """
    verdicts: list[SloVerdict] = []
    if len(per_seed):
        position = per_seed.groupby("seed", sort=False).cumcount()
        for _, rows in per_seed.groupby(position.to_numpy(), sort=True):
            verdicts.append(judge(rows, confidence))
        seeds = seeds or int(per_seed["seed"].nunique())
    return CheckReport(scenario, file, seeds, confidence, tuple(verdicts))


def describe(verdict: SloVerdict, confidence: float) -> str:
    """``seeds passed 9/10, mean 99.6%, 95% interval [99.1%, 100.1%]: <reason>``."""
    metric = verdict.metric
    interval = (
        f"[{format_value(metric, verdict.low)}, {format_value(metric, verdict.high)}]"
        if _present(verdict.low) else "-"
    )
    return (
        f"seeds passed {verdict.seeds_passed}/{verdict.seeds}, "
        f"mean {format_value(metric, verdict.mean)}, {confidence:.0%} interval {interval}: "
        f"{verdict.reason}"
    )


# -- JUnit XML ------------------------------------------------------------------------------------
def junit_xml(reports: Sequence[CheckReport]) -> str:
    """A JUnit report: a testsuite per scenario, a testcase per SLO, a failure with the numbers."""
    root = ET.Element("testsuites", name="meshsim check")
    total = failed = 0
    for report in reports:
        failures = sum(not v.passed for v in report.verdicts)
        suite = ET.SubElement(
            root, "testsuite", name=report.scenario, tests=str(len(report.verdicts)),
            failures=str(failures), errors="0", skipped="0",
        )
        if report.file:
            suite.set("file", report.file)
        props = ET.SubElement(suite, "properties")
        for key, value in (("seeds", report.seeds), ("confidence", report.confidence)):
            ET.SubElement(props, "property", name=key, value=str(value))
        for verdict in report.verdicts:
            case = ET.SubElement(
                suite, "testcase", classname=f"meshsim.{report.scenario}",
                name=verdict.expectation,
            )
            text = describe(verdict, report.confidence)
            if verdict.passed:
                ET.SubElement(case, "system-out").text = text
            else:
                ET.SubElement(case, "failure", message=text, type="SLOFailed").text = text
        total += len(report.verdicts)
        failed += failures
    root.set("tests", str(total))
    root.set("failures", str(failed))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
