"""Where each attempt was served: the serving pod's cluster and zone, and each zone's share
of a service's attempts over time (multi-cluster scenarios).

Read off the model's placement after the run, so the frames themselves (and their golden
hashes) do not change. An attempt through an east-west gateway is placed at the gateway's
cluster and the remote locality it stands for.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from meshsim.model import Model
from meshsim.model.geography import gateway_host

PLACE_COLUMNS = ["pod", "cluster", "network", "region", "zone", "subzone"]


def pod_places(model: Model) -> pd.DataFrame:
    """One row per pod (and east-west gateway host) with its place; empty without topology."""
    geo = model.topology.geography
    rows: list[tuple[str, str, str, str, str, str]] = []
    if geo is None:
        return pd.DataFrame(columns=PLACE_COLUMNS)
    gateways = geo.gateways()
    for service in model.topology.services.values():
        remote: set[tuple[str, str, str, str]] = set()
        for dep in service.deployments:
            for pod, place in zip(dep.pod_names(), dep.places, strict=True):
                rows.append((pod, place.cluster, place.network, place.region, place.zone,
                             place.subzone))
                remote.add((place.network, place.region, place.zone, place.subzone))
        for network, region, zone, subzone in sorted(remote):
            site = gateways.get(network)
            if site is not None:
                locality = "/".join(p for p in (region, zone, subzone) if p)
                rows.append((gateway_host(site.name, service.name, locality), site.name,
                             network, region, zone, subzone))
    return pd.DataFrame(rows, columns=PLACE_COLUMNS)


def with_places(attempts: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """``attempts`` with the serving pod's ``cluster`` and ``zone`` columns."""
    table = places.set_index("pod")
    pods = attempts["pod"].astype(str)
    out = attempts.copy()
    out["cluster"] = pods.map(table["cluster"]).fillna("")
    out["zone"] = pods.map(table["zone"]).fillna("")
    return out


def zone_shares(attempts: pd.DataFrame, places: pd.DataFrame, service: str,
                bucket: float = 1.0) -> pd.DataFrame:
    """Each ``cluster/zone``'s share of ``service``'s attempts per time bucket (rows sum to 1)."""
    att = with_places(attempts[attempts["service"].astype(str) == service], places)
    if att.empty:
        return pd.DataFrame()
    where = att["cluster"] + "/" + att["zone"]
    time = (att["start"] // bucket) * bucket
    counts = pd.crosstab(time, where)
    return counts.div(counts.sum(axis=1), axis=0)


def plot_zone_shares(shares: pd.DataFrame, service: str, title: str = "") -> Figure:
    """Stacked per-zone traffic share through the run (a fault shows as the shift)."""
    fig = Figure(figsize=(9, 3.5))
    ax = fig.add_subplot()
    if not shares.empty:
        ax.stackplot(shares.index.to_numpy(), shares.to_numpy().T * 100,
                     labels=[str(c) for c in shares.columns])
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{service} attempts (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title or f"{service}: share of attempts per cluster/zone")
    return fig


_GATEWAY_HOST = (r"^(?P<gateway>(?:linkerd-gateway|istio-eastwestgateway)-(?P<cluster>[^:]+))"
                 r":\d+/(?P<service>[^/]+)")
GATEWAY_COLUMNS = ["gateway", "cluster", "alive", "num_svc", "latency_p50", "attempts",
                   "dead_at", "alive_at"]


def gateways(attempts: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """``linkerd multicluster gateways`` for a run: each gateway's cluster, liveness at the end
    (Linkerd's probe; Istio's east-west gateways have none: "-"), the services reached through
    it, the median latency of the attempts through it, and when it went dead or alive."""
    pods = attempts["pod"].astype(str)
    found = pods.str.extract(_GATEWAY_HOST)
    through = attempts.assign(gateway=found["gateway"], cluster=found["cluster"],
                              via=found["service"]).dropna(subset=["gateway"])
    kinds = events["kind"].astype(str)
    changes = events[kinds.isin(["gateway-dead", "gateway-alive"])]
    names = sorted(set(through["gateway"]) | set(changes["pod"].astype(str)))
    rows = []
    for name in names:
        mine = through[through["gateway"] == name]
        own = changes[changes["pod"].astype(str) == name]
        dead = own[own["kind"].astype(str) == "gateway-dead"]["time"].round(2).tolist()
        alive_at = own[own["kind"].astype(str) == "gateway-alive"]["time"].round(2).tolist()
        linkerd = name.startswith("linkerd-gateway")
        alive = (str(own["kind"].iloc[-1]) != "gateway-dead" if len(own) else True) \
            if linkerd else "-"
        cluster = name.split("-gateway-", 1)[-1] if linkerd else name.split(
            "eastwestgateway-", 1)[-1]
        rows.append((name, cluster, alive, int(mine["via"].nunique()),
                     float(mine["latency"].median()) if len(mine) else float("nan"),
                     len(mine), dead, alive_at))
    return pd.DataFrame(rows, columns=GATEWAY_COLUMNS)


BY_PLACE_COLUMNS = ["service", "cluster", "zone", "attempts", "rps", "success_rate", "p50", "p99"]


def by_place(attempts: pd.DataFrame, places: pd.DataFrame, start: float,
             end: float) -> pd.DataFrame:
    """The golden metrics of attempts (after ``start``) grouped by the serving pod's service,
    cluster and zone; empty without a topology."""
    if places.empty:
        return pd.DataFrame(columns=BY_PLACE_COLUMNS)
    att = with_places(attempts[attempts["start"] >= start], places)
    att = att[att["cluster"] != ""]
    span = max(end - start, 1e-9)
    rows = []
    for (service, cluster, zone), group in att.groupby(
            [att["service"].astype(str), "cluster", "zone"], sort=True):
        latency = group["latency"]
        rows.append((service, cluster, zone, len(group), len(group) / span,
                     float(group["ok"].mean()), float(latency.quantile(0.5)),
                     float(latency.quantile(0.99))))
    return pd.DataFrame(rows, columns=BY_PLACE_COLUMNS)
