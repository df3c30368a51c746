"""``spec.topology`` and ``placement`` → :class:`~meshsim.model.geography.Geography` and each
deployment's and workload's :class:`~meshsim.model.geography.Place`.

Every dangling name (a cluster not in ``spec.topology.clusters``, a zone not in that cluster's
``zones``) is a located error; a placement without ``spec.topology`` is one too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from meshsim.config.schema_topology import PlacementSpec, TopologySpec, WherePlacement
from meshsim.config.yamlsrc import YamlPath
from meshsim.errors import ScenarioError
from meshsim.model.geography import Geography, LatencyMatrix, Place, ProbeSpec, Site
from meshsim.model.topology import Mirror, MirrorMode, Service

DEFAULT_NETWORK = "network1"
Fail = Callable[[str, YamlPath], ScenarioError]


def geography(spec: TopologySpec | None) -> Geography | None:
    if spec is None:
        return None
    sites = {
        name: Site(name, c.network or DEFAULT_NETWORK, c.region, tuple(c.zones),
                   ProbeSpec(c.probe.period, c.probe.timeout, c.probe.failureThreshold))
        for name, c in spec.clusters.items()
    }
    m = spec.latency
    return Geography(sites, LatencyMatrix(m.crossZone, m.crossRegion, m.gateway))


def place(
    geo: Geography | None, where: PlacementSpec | WherePlacement, path: YamlPath, fail: Fail
) -> Place:
    """One placement entry's place, checked against the topology."""
    if geo is None:
        raise fail("placement needs spec.topology (its clusters and zones)", path)
    name = where.cluster
    if name is None:
        if len(geo.clusters) > 1:
            raise fail(
                f"placement needs a cluster: the topology has {len(geo.clusters)} "
                f"({', '.join(geo.clusters)})", path,
            )
        name = next(iter(geo.clusters))
    site = geo.clusters.get(name)
    if site is None:
        raise fail(
            f"cluster {name!r} is not in spec.topology.clusters ({', '.join(geo.clusters)})",
            (*path, "cluster"),
        )
    if site.zones and where.zone not in site.zones:
        raise fail(
            f"zone {where.zone!r} is not a zone of cluster {name!r} ({', '.join(site.zones)})",
            (*path, "zone"),
        )
    return Place(site.name, site.network, site.region, where.zone, where.subzone)


def places(
    geo: Geography | None, placement: Sequence[PlacementSpec] | None, replicas: int,
    path: YamlPath, fail: Fail,
) -> tuple[Place, ...]:
    """One place per replica, in placement order; none without a topology."""
    if placement is None:
        if geo is None:
            return ()
        # A service without placement in a topology: in the first cluster's first zone.
        site = next(iter(geo.clusters.values()))
        zone = site.zones[0] if site.zones else ""
        return (Place(site.name, site.network, site.region, zone),) * replicas
    out: list[Place] = []
    for index, entry in enumerate(placement):
        where = place(geo, entry, (*path, index), fail)
        out.extend([where] * entry.replicas)
    return tuple(out)


EXPORTED = "mirror.linkerd.io/exported"
FEDERATED = "mirror.linkerd.io/federated"


def mirrors(services: dict[str, Service], labels: dict[str, dict[str, str]],
            fail: Fail) -> dict[str, Service]:
    """Linkerd's mirrors of exported services: ``<svc>-<cluster>`` for every cluster with
    pods of a Service labelled ``mirror.linkerd.io/exported: "true"`` (through the gateway) or
    ``remote-discovery`` (pod IPs), and ``<svc>-federated`` for ``federated: member``."""
    out: dict[str, Service] = {}
    for name, service in services.items():
        own = labels.get(name, {})
        exported, federated = own.get(EXPORTED), own.get(FEDERATED)
        clusters = list(dict.fromkeys(p.cluster for d in service.deployments for p in d.places))
        made: list[Service] = []
        if exported in ("true", "remote-discovery"):
            mode: MirrorMode = "gateway" if exported == "true" else "remote-discovery"
            made += [Service(f"{name}-{c}", service.namespace, (),
                             mirror=Mirror(name, c, mode)) for c in clusters]
        if federated == "member":
            made.append(Service(f"{name}-federated", service.namespace, (),
                                mirror=Mirror(name, None, "federated")))
        for mirror in made:
            if mirror.name in services or mirror.name in out:
                raise fail(f"service {mirror.name!r} clashes with the Linkerd mirror of "
                           f"{name!r}: rename one", ("spec", "services", mirror.name))
            out[mirror.name] = mirror
    return out
