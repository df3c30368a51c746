"""What each hop's requests were: method and path, from the scenario (the frames do not
record them). A caller that sends one service several kinds of request (a workload's weighted
``request`` templates, two call steps to one service) has them joined with ``|``: meshsim does
not record which one each request was."""

from __future__ import annotations

import pandas as pd

from meshsim.results.viz.golden import label_pairs
from meshsim.results.viz.mesh import MeshInfo


def request_kinds(info: MeshInfo, caller: str, service: str) -> tuple[tuple[str, str], ...]:
    owner = info.pod_owner().get(caller, caller)
    return info.requests.get(f"{owner}>{service}", ())


def route_label(frame: pd.DataFrame, info: MeshInfo) -> pd.Categorical[str]:
    """``GET /ratings`` per row (``[DEFAULT]`` when the scenario does not say)."""

    def label(caller: str, service: str) -> str:
        kinds = request_kinds(info, caller, service)
        return "|".join(f"{m} {p}" for m, p in kinds) or "[DEFAULT]"

    return label_pairs(frame["caller"], frame["service"], label)


def method_and_path(frame: pd.DataFrame, info: MeshInfo) -> tuple[
    pd.Categorical[str], pd.Categorical[str]
]:
    def method(caller: str, service: str) -> str:
        return "|".join(sorted({m for m, _ in request_kinds(info, caller, service)})) or "-"

    def path(caller: str, service: str) -> str:
        return "|".join(sorted({p for _, p in request_kinds(info, caller, service)})) or "-"

    return (label_pairs(frame["caller"], frame["service"], method),
            label_pairs(frame["caller"], frame["service"], path))


def authority(info: MeshInfo, service: str) -> str:
    """The ``:authority`` a caller sends: the service's cluster-local name and port 80."""
    return f"{service}.{info.service_namespace(service)}.svc.cluster.local:80"
