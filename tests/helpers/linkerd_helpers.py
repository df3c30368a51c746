"""Builders for the Linkerd translator tests: manifests from YAML text, small topologies."""

from __future__ import annotations

from collections.abc import Mapping

from meshsim.config.linkerd import LinkerdTranslation, translate
from meshsim.config.manifests import Manifest, classify
from meshsim.config.yamlsrc import load_stream
from meshsim.errors import ConfigWarning
from meshsim.model import Constant, Contention, Deployment, Service, Topology

FILE = "linkerd.yaml"


def manifests(text: str, file: str = FILE) -> list[Manifest]:
    return [classify(doc, doc.data, "linkerd") for doc in load_stream(text, file)]  # type: ignore[arg-type]


def service(name: str, *versions: str, namespace: str = "default",
            labels: Mapping[str, str] | None = None, external: bool = False) -> Service:
    def deployment(version: str | None) -> Deployment:
        own = {"app": name, **(labels or {})}
        if version is not None:
            own = {**own, "version": version}
        return Deployment(
            service=name, version=version, replicas=1, concurrency=1, queue=None,
            latency=Constant(0.01), errors=0.0, contention=Contention(), calls=(),
            labels=own, sidecar=not external,
        )

    deployments = tuple(deployment(v) for v in versions) or (deployment(None),)
    return Service(name, namespace, deployments, external=external)


def topology(*services: Service) -> Topology:
    return Topology({s.name: s for s in services}, network_latency=0.0, proxy_overhead=0.0)


def run(text: str, topo: Topology) -> LinkerdTranslation:
    return translate(manifests(text), topo)


def find(warnings: list[ConfigWarning], fragment: str) -> ConfigWarning:
    hits = [w for w in warnings if fragment in w.message]
    assert len(hits) == 1, [w.format() for w in warnings]
    return hits[0]
