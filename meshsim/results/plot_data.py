"""What a run's panels draw: per service its total rows, per subset its own, and the ejections.

Apart from the panels because every panel (and :mod:`.plot_proxy_answers`) reads the same
rows, prepared once per figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from meshsim.results.plot_style import EJECTION_MARKS, LineStyle, line_styles
from meshsim.results.summary import service_totals


@dataclass(frozen=True)
class PanelData:
    """What the panels draw: per service its total rows, per service with subsets each
    subset's rows, the styles, and the ejection events."""

    services: dict[str, pd.DataFrame]
    subsets: dict[str, dict[str, pd.DataFrame]]
    styles: dict[str, LineStyle]
    ejections: pd.DataFrame


def times(part: pd.DataFrame) -> np.ndarray:
    return part["time"].to_numpy(dtype=float)


def panel_data(ts: pd.DataFrame, bucket: float, events: pd.DataFrame | None) -> PanelData:
    """Per service its total rows (timed at the middle of each bucket they average over) and,
    for services with subsets, each subset's rows."""
    ts = ts.assign(time=ts["time"] + bucket / 2)
    totals = service_totals(ts)
    services = {str(name): part
                for name, part in totals.groupby("service", observed=True, sort=True)}
    leaves = ts[~ts["aggregate"].to_numpy(dtype=bool)]
    multi = set(ts.loc[ts["aggregate"].to_numpy(dtype=bool), "service"].astype(str))
    subsets: dict[str, dict[str, pd.DataFrame]] = {}
    for (service, subset), part in leaves.groupby(["service", "subset"], observed=True,
                                                  sort=True):
        if str(service) in multi:
            subsets.setdefault(str(service), {})[str(subset)] = part
    points = max((len(part) for part in services.values()), default=0)
    ejections = events if events is not None else pd.DataFrame(columns=["time", "kind"])
    kinds = ejections["kind"].astype(str).isin(list(EJECTION_MARKS)).to_numpy()
    return PanelData(services, subsets, line_styles(list(services), points), ejections[kinds])

