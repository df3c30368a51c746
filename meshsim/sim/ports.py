"""What an actor may use of the running simulation, as protocols.

Actors (proxies, pods, gateways, workloads, authorizers) depend on :class:`Mesh`; the chaos
timeline and the rollout controllers, which change pods and endpoints, on
:class:`ControlPlane`. :class:`~meshsim.sim.engine.Simulation` meets both structurally, so
no actor imports the engine, and a test can hand an actor anything that has these members.
Members are read-only properties: an actor reads them (and may mutate what they hold, such
as the live route table), never rebinds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from meshsim.metrics import Recorder
    from meshsim.model.policy import TrafficPolicy
    from meshsim.model.topology import Topology
    from meshsim.rng import Streams
    from meshsim.sim.eastwest import EastWest
    from meshsim.sim.kernel import Kernel
    from meshsim.sim.linkerd.multicluster import Links
    from meshsim.sim.live_routes import LiveTable
    from meshsim.sim.pod import Pod
    from meshsim.sim.proxy_cpu import DataPlane
    from meshsim.sim.wire import Cuts


class Mesh(Protocol):
    """The clock, the recorder, the endpoints and routes, the wire, and the ids of a run."""

    @property
    def env(self) -> Kernel:
        """Clock and scheduling."""

    @property
    def recorder(self) -> Recorder: ...

    @property
    def endpoints(self) -> Mapping[str, list[Pod]]:
        """Ready pods per service (the EndpointSlices)."""

    @property
    def live_routes(self) -> LiveTable:
        """Routes whose weights a rollout controller sets, by host."""

    @property
    def latency(self) -> float:
        """One-way network latency."""

    @property
    def overhead(self) -> float:
        """Per sidecar traversal."""

    @property
    def data_plane(self) -> DataPlane | None:
        """The proxies' CPU queues when the run models proxy cost (else None)."""

    @property
    def topology(self) -> Topology:
        """The services, and where pods run (``geography``, None for one place)."""

    @property
    def eastwest(self) -> EastWest | None:
        """East-west gateways and split-horizon EDS (several networks only)."""

    @property
    def links(self) -> Links | None:
        """Linkerd multicluster gateways and their probes (Linkerd with a topology only)."""

    def freeze(self, cluster: str, frozen: bool) -> None:
        """Stop (or resume) endpoint updates to the proxies of ``cluster``."""

    @property
    def cuts(self) -> Cuts:
        """Link faults between clusters now: cluster pair → blackholed (else refused)."""

    @property
    def propagate_deadlines(self) -> bool:
        """Downstream calls inherit the caller's deadline (``cancellation: deadline``)."""

    @property
    def grpc_services(self) -> frozenset[str]:
        """Services with ``protocol: grpc``: proxies answer them 200 with a grpc-status."""

    def next_call_id(self) -> int: ...

    def next_request_id(self) -> int: ...

    def service_code(self, service: str) -> int:
        """The recorder's code for ``service``."""


class ControlPlane(Mesh, Protocol):
    """What chaos and the rollout controllers use besides: every pod, the policy, the random
    streams, and EndpointSlice updates."""

    @property
    def pods(self) -> Sequence[Pod]: ...

    @property
    def policy(self) -> TrafficPolicy | None: ...

    @property
    def streams(self) -> Streams: ...

    def set_endpoints(self, service: str, pods: list[Pod]) -> None: ...
