"""Builders for the Istio translator tests: manifests from YAML text, small topologies."""

from __future__ import annotations

from collections.abc import Mapping

from meshsim.config.istio import IstioTranslation, translate
from meshsim.config.manifests import Manifest, classify
from meshsim.config.yamlsrc import load_stream
from meshsim.errors import ConfigWarning
from meshsim.model import Constant, Contention, Deployment, Service, Topology

FILE = "istio.yaml"


def manifests(text: str, file: str = FILE) -> list[Manifest]:
    """Every document of ``text`` as a Manifest, as the config stage would read it."""
    return [classify(doc, doc.data, "istio") for doc in load_stream(text, file)]  # type: ignore[arg-type]


def service(
    name: str, *versions: str, namespace: str = "default", replicas: int = 1,
    labels: Mapping[str, str] | None = None, external: bool = False,
    version_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Service:
    """A service with one deployment per version (labels app + version, as compile gives)."""

    def deployment(version: str | None) -> Deployment:
        own = {"app": name, **(labels or {})}
        if version is not None:
            own = {**own, "version": version, **((version_labels or {}).get(version, {}))}
        return Deployment(
            service=name, version=version, replicas=replicas, concurrency=1, queue=None,
            latency=Constant(0.01), errors=0.0, contention=Contention(), calls=(),
            labels=own, sidecar=not external,
        )

    deployments = tuple(deployment(v) for v in versions) or (deployment(None),)
    return Service(name, namespace, deployments, external=external)


def topology(*services: Service) -> Topology:
    return Topology({s.name: s for s in services}, network_latency=0.0, proxy_overhead=0.0)


def run(text: str, topo: Topology, version: str | None = None) -> IstioTranslation:
    return translate(manifests(text), topo, version=version)


def codes(warnings: list[ConfigWarning]) -> list[str]:
    return [w.code for w in warnings]


def find(warnings: list[ConfigWarning], fragment: str) -> ConfigWarning:
    """The one warning whose message contains ``fragment``."""
    hits = [w for w in warnings if fragment in w.message]
    assert len(hits) == 1, [w.format() for w in warnings]
    return hits[0]
