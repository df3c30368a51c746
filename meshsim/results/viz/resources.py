"""Linkerd's resource arguments (``deploy``, ``deploy/web``, ``svc/web``, ``po/web-0``,
``ns/default``) and the column that names each attempt's source or destination by them."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from meshsim.results.viz.golden import relabel
from meshsim.results.viz.mesh import MeshInfo
from meshsim.results.viz.run import VizError

KINDS = {
    "deploy": "deploy", "deployment": "deploy", "deployments": "deploy",
    "svc": "svc", "service": "svc", "services": "svc",
    "po": "pod", "pod": "pod", "pods": "pod",
    "ns": "ns", "namespace": "ns", "namespaces": "ns",
}


@dataclass(frozen=True)
class Resource:
    kind: str  # deploy | svc | pod | ns
    name: str | None = None

    def __str__(self) -> str:
        return self.kind if self.name is None else f"{self.kind}/{self.name}"


def parse_resource(text: str, *, default_kind: str = "deploy") -> Resource:
    """``TYPE``, ``TYPE/NAME`` or a bare ``NAME`` (a deployment or a workload's clients)."""
    kind, sep, name = text.partition("/")
    if not sep:
        if kind.lower() in KINDS:
            return Resource(KINDS[kind.lower()])
        return Resource(default_kind, text)
    if kind.lower() not in KINDS:
        raise VizError(f"{text}: unknown resource type {kind!r} (expected one of deploy, svc, "
                       "po, ns)")
    if not name:
        raise VizError(f"{text}: a resource name is missing after '/'")
    return Resource(KINDS[kind.lower()], name)


def destination(attempts: pd.DataFrame, info: MeshInfo, kind: str) -> pd.Categorical[str]:
    """Each attempt's destination named as ``kind``."""
    if kind == "svc":
        return pd.Categorical(attempts["service"])
    if kind == "pod":
        return pd.Categorical(attempts["pod"])
    return _by_owner(attempts["pod"], info, kind)


def source(frame: pd.DataFrame, info: MeshInfo, kind: str) -> pd.Categorical[str]:
    """Each row's caller (a pod or a workload's client proxy) named as ``kind``."""
    if kind == "pod":
        return pd.Categorical(frame["caller"])
    if kind == "svc":
        owner = info.pod_owner()

        def service_of(pod: str) -> str:
            w = info.workloads.get(owner.get(pod, pod))
            return (w.service or w.name) if w is not None else pod

        return relabel(frame["caller"], service_of)
    return _by_owner(frame["caller"], info, kind)


def _by_owner(pods: pd.Series, info: MeshInfo, kind: str) -> pd.Categorical[str]:
    owner = info.pod_owner()
    if kind == "ns":
        def namespace_of(pod: str) -> str:
            w = info.workloads.get(owner.get(pod, pod))
            return w.namespace if w is not None else "default"

        return relabel(pods, namespace_of)
    return relabel(pods, lambda pod: owner.get(pod, pod))

