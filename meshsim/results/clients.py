"""Views of clients as they really are: amplification per layer, offered vs admitted vs
goodput load over time, and per-user-request outcomes.

The requests table holds one row per client try (an app client's tries share the user
request's id; without a client policy a row is a user request). So, per workload:

- user requests: distinct ids; a user request is good when any of its tries answered < 500;
- client tries per user request: rows (without the client breaker's refusals, flag ``CB``)
  per distinct id;
- proxy attempts per client try: the depth-0 calls' ``attempts``;
- per hop below: calls and their attempts per parent, from the calls table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from meshsim.results.stats import call_metrics, started_in
from meshsim.results.summary import summarize_workloads

REFUSED = "CB"  # the app client's own breaker refused the call (sim/client/app.py)
DROPPED = "dropped-iteration"  # an arrival with no free VU (k6 constant-arrival-rate)
_AMPLIFICATION = ["workload", "layer", "service", "units", "attempts", "per_unit",
                  "per_user_request"]


def user_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """One row per user request: workload, first start, end, tries, refused, ok, and the
    answer the user got (``status``, ``flags``: its first good try's, else its last row's)."""
    if not len(requests):
        return pd.DataFrame(columns=["id", "workload", "start", "end", "latency", "tries",
                                     "refused", "ok", "status", "flags"])
    flags = requests["flags"].astype(str)
    frame = requests.assign(refused=flags == REFUSED, tried=flags != REFUSED)
    grouped = frame.groupby("id", sort=True, observed=True)
    out = pd.DataFrame({
        "workload": grouped["workload"].first(),
        "start": grouped["start"].min(),
        "end": grouped["end"].max(),
        "tries": grouped["tried"].sum().astype(int),
        "refused": grouped["refused"].sum().astype(int),
        "ok": grouped["ok"].any(),
    })
    by_end = frame.sort_values(["id", "end"], kind="stable")
    last = by_end.groupby("id", sort=True, observed=True).last()
    out["status"] = last["status"]
    out["flags"] = last["flags"].astype(str)
    good = by_end[by_end["ok"]].groupby("id", observed=True).first()
    out.loc[good.index, "end"] = good["end"]  # a good request ends with its first good answer
    out.loc[good.index, "status"] = good["status"]
    out.loc[good.index, "flags"] = good["flags"].astype(str)
    out["latency"] = out["end"] - out["start"]
    return out.reset_index()


def user_request_rows(requests: pd.DataFrame, done: np.ndarray) -> pd.DataFrame:
    """The user requests the app clients finished (ids ``done``; one still retrying when
    the run ended is open, as an unanswered request), shaped as requests rows
    (``attempts``: client tries), so the workloads table and SLOs count them as requests."""
    users = user_requests(requests)
    users = users[np.isin(users["id"].to_numpy(dtype=np.int64), done)]
    return pd.DataFrame({
        "id": users["id"].to_numpy(dtype=np.int64),
        "workload": users["workload"].astype(str).astype("category"),
        "start": users["start"].to_numpy(dtype=np.float64),
        "end": users["end"].to_numpy(dtype=np.float64),
        "latency": users["latency"].to_numpy(dtype=np.float64),
        "status": users["status"].to_numpy(dtype=np.int64),
        "flags": users["flags"].astype(str).astype("category"),
        "attempts": users["tries"].to_numpy(dtype=np.int64),
        "ok": users["ok"].to_numpy(dtype=bool),
    })


def per_user_workloads(frame: pd.DataFrame, rows: pd.DataFrame, names: set[str], *,
                       start: float, end: float) -> pd.DataFrame:
    """The workloads table with the rows of the workloads in ``names`` (those with an app
    client) counting their user requests ``rows`` (:func:`user_request_rows`) instead of
    their tries: what the users saw, the mesh-facing rows staying per try."""
    mine = frame["workload"].astype(str).isin(names).to_numpy()
    if not mine.any():
        return frame
    users = summarize_workloads(rows, start=start, end=end,
                                workloads=sorted(frame.loc[mine, "workload"].astype(str)))
    users = users.set_index("workload")
    out = frame.copy()
    chosen = out.loc[mine, "workload"].astype(str).tolist()
    for column in out.columns[1:]:
        values = users[column].reindex(chosen).to_numpy()
        kind = np.result_type(out[column].to_numpy().dtype, values.dtype)
        out[column] = out[column].astype(kind)
        out.loc[mine, column] = values
    return out


@dataclass(frozen=True)
class UserSelection:
    """The user requests an expectation on a workload with an app client looks at (the
    same questions :class:`~meshsim.results.online_slo.OnlineSelection` answers)."""

    rows: pd.DataFrame  # :func:`user_request_rows` starting in the window
    span: float

    @property
    def empty(self) -> bool:
        return not len(self.rows)

    def max_latency(self) -> float:
        return float(self.rows["latency"].max()) if len(self.rows) else float("nan")

    def metric(self, name: str) -> float:
        return float(call_metrics(self.rows, [], self.span)[name].iloc[0])

    def with_failed(self, ages: np.ndarray, name: str) -> float:
        """``name`` with the requests of ``ages`` counted as failed (status 0) and that slow."""
        n = len(ages)
        failed = pd.DataFrame({
            "latency": np.asarray(ages, dtype=np.float64), "status": np.zeros(n, np.int64),
            "flags": [""] * n, "attempts": np.ones(n, np.int64), "ok": np.zeros(n, bool),
        })
        rows = pd.concat([self.rows[list(failed.columns)].astype({"flags": str}), failed],
                         ignore_index=True)
        return float(call_metrics(rows, [], self.span)[name].iloc[0])


def user_selection(rows: pd.DataFrame, workload: str, start: float,
                   end: float) -> UserSelection:
    """A workload's user requests starting in [start, end)."""
    mine = (rows["workload"].astype(str) == workload).to_numpy() & started_in(rows, start, end)
    return UserSelection(rows[mine].reset_index(drop=True), end - start)


def amplification(requests: pd.DataFrame, calls: pd.DataFrame, *, start: float = 0.0,
                  end: float = float("inf"),
                  dependency_tries: np.ndarray | None = None) -> pd.DataFrame:
    """Per workload and layer: units entering the layer, attempts leaving it, attempts per
    unit, and attempts per user request (user requests starting in [start, end)).

    ``dependency_tries`` ((call id, dependency call id) rows, ``Recording.dependency_tries``)
    names the tries of app clients inside pods: a hop they call gets a ``client hop N`` layer
    (units: the handlers' dependency calls; attempts: their tries) above its ``hop N``."""
    tried_as = _tried_as(dependency_tries)
    users = user_requests(requests)
    users = users[(users["start"] >= start) & (users["start"] < end)]
    rows: list[dict[str, object]] = []
    for workload, mine in users.groupby("workload", observed=True, sort=True):
        ids = mine["id"].to_numpy()
        n_users = len(ids)
        tries = requests[np.isin(requests["id"].to_numpy(), ids)
                         & (requests["flags"].astype(str) != REFUSED)]
        rows.append(_row(workload, "client", "", n_users, len(tries), n_users))
        mine_calls = calls[np.isin(calls["request_id"].to_numpy(), ids) & ~calls["mirror"]]
        for (depth, service), group in mine_calls.groupby(["depth", "service"], observed=True,
                                                          sort=True):
            hop = group[group["flags"].astype(str) != REFUSED]
            if depth != 0 and tried_as is not None:
                app = _app_layer(group, len(hop), tried_as)
                if app is not None:
                    rows.append(_row(workload, f"client hop {depth}", str(service), app,
                                     len(hop), n_users))
            layer = "proxy" if depth == 0 else f"hop {depth}"
            rows.append(_row(workload, layer, str(service), len(hop),
                             int(hop["attempts"].sum()), n_users))
    return pd.DataFrame(rows, columns=_AMPLIFICATION)


def _tried_as(dependency_tries: np.ndarray | None) -> pd.Series | None:
    """Call id -> the dependency call it tries, or None when no pod has an app client."""
    if dependency_tries is None or not len(dependency_tries):
        return None
    return pd.Series(dependency_tries[:, 1], index=dependency_tries[:, 0])


def _app_layer(group: pd.DataFrame, tries: int, tried_as: pd.Series) -> int | None:
    """Dependency calls among a hop's rows (refusals included: a refused call is a unit
    with no try); None when no row of the hop is an app client's."""
    ids = group["call_id"].to_numpy()
    mapped = np.isin(ids, tried_as.index.to_numpy())
    if not mapped.any():
        return None
    calls = int(tried_as.loc[ids[mapped]].nunique())
    unmapped = group[~mapped]
    plain = int((unmapped["flags"].astype(str) != REFUSED).sum())  # a call without a client
    return calls + plain


def _row(workload: object, layer: str, service: str, units: int, attempts: int,
         users: int) -> dict[str, object]:
    return {
        "workload": str(workload), "layer": layer, "service": service, "units": units,
        "attempts": attempts, "per_unit": attempts / units if units else np.nan,
        "per_user_request": attempts / users if users else np.nan,
    }


def load_over_time(requests: pd.DataFrame, events: pd.DataFrame, proxies: dict[str, str],
                   *, bucket: float = 1.0, horizon: float | None = None) -> pd.DataFrame:
    """Per workload and time bucket, in requests per second:

    - ``offered``: user requests arriving, plus arrivals dropped for want of a VU;
    - ``sent``: client tries sent to the mesh (not refused by the client's breaker);
    - ``admitted``: tries that got an answer (not given up on, not refused by a proxy's
      circuit breaker, flag ``UO``);
    - ``goodput``: user requests answered below 500, by the time of that answer.

    ``proxies`` maps a client proxy's name to its workload (for the dropped arrivals).
    """
    users = user_requests(requests)
    last = float(requests["end"].max()) if len(requests) else 0.0
    end = horizon if horizon is not None else last
    edges = np.arange(0.0, end + bucket, bucket)
    flags = requests["flags"].astype(str)
    sent = requests[flags != REFUSED]
    admitted = sent[(sent["status"] > 0) & ~sent["flags"].astype(str).str.contains("UO")]
    dropped = events[events["kind"] == DROPPED] if len(events) else events
    frames = []
    for workload in sorted(set(users["workload"].astype(str))):
        drops = dropped[dropped["proxy"].astype(str).map(proxies) == workload]["time"]
        mine_users = users[users["workload"].astype(str) == workload]
        series = {
            "offered": _rate(np.concatenate([mine_users["start"].to_numpy(),
                                             drops.to_numpy()]), edges, bucket),
            "sent": _rate(_of(sent, workload, "start"), edges, bucket),
            "admitted": _rate(_of(admitted, workload, "end"), edges, bucket),
            "goodput": _rate(mine_users[mine_users["ok"]]["end"].to_numpy(), edges, bucket),
        }
        frames.append(pd.DataFrame({"workload": workload, "time": edges[:-1], **series}))
    if not frames:
        return pd.DataFrame(columns=["workload", "time", "offered", "sent", "admitted",
                                     "goodput"])
    return pd.concat(frames, ignore_index=True)


def _of(frame: pd.DataFrame, workload: str, column: str) -> np.ndarray:
    return frame[frame["workload"].astype(str) == workload][column].to_numpy()


def _rate(times: np.ndarray, edges: np.ndarray, bucket: float) -> np.ndarray:
    counts, _ = np.histogram(times, bins=edges)
    return counts / bucket


def closed_loop_point(requests: pd.DataFrame, users: int, think: float, *, start: float,
                      end: float) -> dict[str, float]:
    """One point of the closed-loop curve: throughput X (good or not) and mean response R of
    the user requests starting in [start, end), and the response-time law's N/X − Z."""
    table = user_requests(requests)
    window = table[(table["start"] >= start) & (table["start"] < end)]
    x = len(window) / (end - start) if end > start else np.nan
    return {
        "users": float(users),
        "throughput": x,
        "goodput": float(window["ok"].sum()) / (end - start) if end > start else np.nan,
        "mean_latency": float(window["latency"].mean()) if len(window) else np.nan,
        "p99": float(window["latency"].quantile(0.99)) if len(window) else np.nan,
        "law_latency": users / x - think if x else np.nan,
    }
