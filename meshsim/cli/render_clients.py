"""The run report's clients tables: amplification per layer, and offered vs admitted vs goodput.

Printed only for workloads with closed-loop users, a VU cap, ramps or an app client, so the
report of every other scenario is unchanged.
"""

from __future__ import annotations

import pandas as pd
from rich.table import Table

AMPLIFICATION_HEADERS = ("WORKLOAD", "LAYER", "SERVICE", "IN", "ATTEMPTS", "PER IN",
                         "PER USER REQUEST")
LOAD_HEADERS = ("WORKLOAD", "OFFERED", "SENT", "ADMITTED", "GOODPUT", "USER SUCCESS")


def _table(headers: tuple[str, ...], text: int) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index < text else "right", no_wrap=True)
    return table


def amplification_table(frame: pd.DataFrame) -> Table:
    """``IN`` units enter a layer (user requests, client tries, calls), ``ATTEMPTS`` leave it."""
    table = _table(AMPLIFICATION_HEADERS, 3)
    for row in frame.to_dict("records"):
        table.add_row(str(row["workload"]), str(row["layer"]), str(row["service"]) or "-",
                      f"{int(row['units']):,}", f"{int(row['attempts']):,}",
                      f"{row['per_unit']:.3f}", f"{row['per_user_request']:.3f}")
    return table


def load_table(load: pd.DataFrame, users: pd.DataFrame, start: float) -> Table:
    """Mean rates per workload over the buckets from ``start`` on, and the share of user
    requests (starting from ``start``, answered by the end) that got a good answer."""
    table = _table(LOAD_HEADERS, 1)
    window = load[load["time"] >= start]
    if "answered" in users:
        users = users[users["answered"].to_numpy(dtype=bool)]
    for workload, rows in window.groupby("workload", sort=True):
        mine = users[(users["workload"].astype(str) == workload) & (users["start"] >= start)]
        share = f"{mine['ok'].mean():.2%}" if len(mine) else "-"
        table.add_row(str(workload), *(f"{rows[c].mean():.1f}/s" for c in
                                       ("offered", "sent", "admitted", "goodput")), share)
    return table
