"""A run against the stored baseline: current ÷ baseline per figure, flagged beyond the noise band.

Every ratio-to-SimPy row and the overloaded ÷ unloaded ratio gate: each repeat measures the
figure back to back (a SimPy run and a meshsim run, or the two meshes), and the band is two
robust standard deviations (1.4826 × the median absolute deviation, over the median) of those
per-repeat values, from whichever run is noisier, and at least 5 %. The MAD keeps one disturbed
repeat from widening the band. When either run has fewer than 3 repeats of a figure the band is
the stated 20 % (the spread seen between runs on the shared 2-core machine). Builds are compared
with the same build of the baseline only.
"""

from __future__ import annotations

from typing import Any

REGRESSION = 0.8  # without measured noise, a figure is flagged below this share of the baseline
MIN_BAND, NOISE_SIGMAS, MIN_REPEATS = 0.05, 2.0, 3
MAD_TO_SIGMA = 1.4826  # a normal distribution's standard deviation per median absolute deviation
GATED = (
    "mmc_ratio", "three_hop_ratio", "mesh24_ratio", "mesh30_ratio", "mesh30_overloaded_ratio",
    "mesh30_linkerd_ratio", "overload_ratio",
)


def _median(values: list[float]) -> float:
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def relative_sigma(ratios: list[float]) -> float | None:
    """Robust relative spread of per-repeat ratios: 1.4826 × MAD / median (None with fewer
    than 3 repeats)."""
    if len(ratios) < MIN_REPEATS:
        return None
    median = _median(ratios)
    return MAD_TO_SIGMA * _median([abs(r - median) for r in ratios]) / median


def per_repeat(run: dict[str, Any], figure: str) -> list[float]:
    """A figure's per-repeat values (a baseline from before the mesh rows kept only M/M/c's)."""
    ratios = run.get("ratios", {}).get(figure)
    if ratios is None and figure == "mmc_ratio":
        ratios = run.get("mmc", {}).get("ratios", [])
    return list(ratios or [])


def noise_band(
    data: dict[str, Any], baseline: dict[str, Any], figure: str = "mmc_ratio"
) -> tuple[float, str]:
    """(band, how it was found): the share ``figure`` may fall before it is flagged."""
    sigmas = [relative_sigma(per_repeat(run, figure)) for run in (baseline, data)]
    if any(sigma is None for sigma in sigmas):
        return 1.0 - REGRESSION, "stated (fewer than 3 repeats in a run)"
    widest = max(sigma for sigma in sigmas if sigma is not None)
    return max(MIN_BAND, NOISE_SIGMAS * widest), (
        f"measured: {NOISE_SIGMAS:g} × the larger robust spread {widest:.1%} of the "
        f"per-repeat ratios, at least {MIN_BAND:.0%}"
    )


def runs_by_build(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{build: one build's run}: a ``--build both`` file holds several, older files one (pure)."""
    if "builds" in data:
        return dict(data["builds"])
    return {str(data.get("build", "pure")): data}


def compare_run(data: dict[str, Any], baseline: dict[str, Any]) -> int:
    """Print current / baseline per figure of one build; 1 when a gated figure fell beyond its
    noise band."""
    print(
        f"compared with {baseline.get('machine', {}).get('git_commit') or 'baseline'} "
        f"({baseline.get('created', '?')}); noise band per figure, "
        f"{NOISE_SIGMAS:g} robust sigmas of its per-repeat ratios (at least {MIN_BAND:.0%}), "
        f"or the stated {1.0 - REGRESSION:.0%} with fewer than {MIN_REPEATS} repeats:"
    )
    status = 0
    for key, value in data["figures"].items():
        before = baseline.get("figures", {}).get(key)
        if not before:
            print(f"  {key:<24} no baseline figure")
            continue
        change = value / before
        note = ""
        if key in GATED:
            band, how = noise_band(data, baseline, key)
            note = f"  band {band:.0%}{' (stated)' if how.startswith('stated') else ''}"
            if change < 1.0 - band:
                note, status = f"{note}  REGRESSION (below {1.0 - band:.0%} of baseline)", 1
        print(f"  {key:<24}{before:>10.2f} → {value:>8.2f}   ×{change:.2f}{note}")
    return status


def compare(data: dict[str, Any], baseline: dict[str, Any]) -> int:
    """Every build of ``data`` against the same build of ``baseline``; 1 on any regression."""
    before = runs_by_build(baseline)
    status = 0
    for build, run in runs_by_build(data).items():
        if build not in before:
            print(f"build {build}: the baseline has no {build} build; nothing to compare")
            continue
        print(f"build {build}:")
        status = max(status, compare_run(run, before[build]))
    return status
