"""ServiceEntries → the scenario's external services (istio/api ``service_entry.proto``).

A ServiceEntry describes endpoints outside the mesh; the scenario must describe how they behave,
as a service marked ``external: true`` named like the entry (``metadata.name``) or one of its
hosts (the whole host, or its first label). Its hosts then resolve to that service wherever a
manifest names them. ``resolution`` and ``location`` are kept for the engine
(``cluster.go`` ``convertResolution``: STATIC/NONE/DNS/DNS_ROUND_ROBIN).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.model.policy import ExternalService
from meshsim.model.topology import Topology

RESOLUTIONS = ("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS")
LOCATIONS = ("MESH_EXTERNAL", "MESH_INTERNAL")


@dataclass(frozen=True)
class Entry:
    service: str
    hosts: tuple[str, ...]
    external: ExternalService


def parse_entries(manifests: Iterable[Manifest], topology: Topology,
                  diagnostics: Diagnostics) -> list[Entry]:
    return [_entry(m, topology, diagnostics) for m in manifests]


def _entry(manifest: Manifest, topology: Topology, diagnostics: Diagnostics) -> Entry:
    spec = Node.root(manifest)["spec"]
    hosts = spec["hosts"].strings()
    if not hosts:
        raise spec.error("a ServiceEntry needs at least one host")
    resolution = spec["resolution"].choice(RESOLUTIONS, "NONE")
    location = spec["location"].choice(LOCATIONS, "MESH_EXTERNAL")
    endpoints = spec["endpoints"].items()
    if resolution == "STATIC" and not endpoints:
        raise spec.error("a ServiceEntry with resolution STATIC needs endpoints")
    if resolution == "DYNAMIC_DNS":
        diagnostics.warn(spec["resolution"], "DYNAMIC_DNS is not modelled: meshsim resolves "
                         "the hosts as DNS", code="approximated")
        resolution = "DNS"
    service = _service(manifest, hosts, topology, spec["hosts"])
    external = ExternalService(
        name=service,
        hosts=tuple(hosts),
        resolution=resolution,  # type: ignore[arg-type]
        location=location,  # type: ignore[arg-type]
        endpoints=max(1, len(endpoints)),
    )
    return Entry(service, tuple(hosts), external)


def _service(manifest: Manifest, hosts: list[str], topology: Topology, node: Node) -> str:
    candidates = [manifest.name, *hosts, *(h.split(".")[0] for h in hosts if h != "*")]
    for name in dict.fromkeys(candidates):
        service = topology.services.get(name)
        if service is None:
            continue
        if not service.external:
            raise node.error(
                f"services.{name} stands for {manifest.key} ({', '.join(hosts)}) but is inside "
                f"the mesh; set services.{name}.external: true"
            )
        return name
    raise node.error(
        f"no scenario service stands for {manifest.key} ({', '.join(hosts)}); add "
        f"services.{manifest.name}: {{external: true, latency: ...}} to say how it answers"
    )
