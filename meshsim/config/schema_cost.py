"""``spec.proxy.cost``: the data-plane cost model, off unless present (:mod:`meshsim.model.cost`).

Every field overrides the profile's published figure; the profile defaults to the mesh's
release (``meshVersion``) as :mod:`meshsim.config.cost_profiles` names them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool

from meshsim.config.cost_profiles import PROFILES
from meshsim.config.fields import Duration, choice
from meshsim.config.schema_types import Strict

Profile = Annotated[str, choice(*PROFILES)]


class CostSpec(Strict):
    """What the proxies cost; every figure defaults to the profile's."""

    profile: Profile | None = None  # published figures of one release; default: meshVersion's
    mode: Annotated[Literal["sidecar", "ambient"], choice("sidecar", "ambient")] = "sidecar"
    waypoint: StrictBool = False  # ambient: L7 through a waypoint per destination service
    mtls: StrictBool = True  # Istio only: plaintext drops Envoy's mTLS share (Linkerd: always on)
    keepAlive: StrictBool = True  # false: every request pays a new connection's handshake
    payload: Annotated[float, Field(ge=0, le=1e12)] = 1024.0  # bytes per request and response
    nodes: Annotated[int, Field(ge=1, le=10_000)] = 3  # ambient: one ztunnel per node
    cpuPerRequest: Duration | None = None  # CPU time per request per proxy
    latency: Duration | None = None  # added delay per traversal at low load
    memoryMB: Annotated[float, Field(ge=0, le=1e6)] | None = None  # per proxy instance
    memoryPerConnectionKB: Annotated[float, Field(ge=0, le=1e6)] = 0.0  # per upstream connection
    workers: Annotated[int, Field(ge=1, le=1024)] | None = None  # default: from cpuLimit
    cpuLimit: Annotated[float, Field(gt=0, le=1024)] | None = None  # cores per proxy
