"""Who is who in a run: workloads (deployments, load clients, gateways), their pods, namespace,
sidecar and mTLS identity, and the method and path each caller sends each service.

The frames name pods and client proxies; the meshes' views name workloads (``linkerd viz stat
deploy``), namespaces and identities. :func:`mesh_info` derives that from the model once, as
plain JSON types, so it travels in ``run.json`` (key ``mesh_info``) and a run directory read
back gives the same views as the :class:`~meshsim.results.Results` it was saved from.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshsim.model import Model
from meshsim.model.authz import identity_of, spiffe_principal
from meshsim.model.topology import Call, Deployment, Parallel, Service

GATEWAY_NAMESPACE = "istio-system"
GATEWAY_ACCOUNT = "istio-ingressgateway-service-account"


@dataclass(frozen=True)
class Workload:
    """A deployment, a workload's load clients or an ingress gateway."""

    name: str
    kind: str  # deployment | client | gateway
    service: str  # the service it serves ("" for load clients)
    version: str
    namespace: str
    meshed: bool
    identity: str  # mTLS identity ("" without a sidecar)
    mtls: str  # inbound mTLS mode (Istio PeerAuthentication: STRICT|PERMISSIVE|DISABLE)
    pods: tuple[str, ...]


@dataclass(frozen=True)
class MeshInfo:
    """The run's workloads, by name, and the pods and requests that map onto them."""

    mesh: str
    workloads: Mapping[str, Workload]
    requests: Mapping[str, tuple[tuple[str, str], ...]]  # "caller>service" -> (method, path)s

    def pod_owner(self) -> dict[str, str]:
        """Pod or client proxy name -> its workload's name."""
        return {pod: w.name for w in self.workloads.values() for pod in w.pods}

    def service_namespace(self, service: str) -> str:
        for w in self.workloads.values():
            if w.service == service:
                return w.namespace
        return "default"

    def to_json(self) -> dict[str, Any]:
        return {
            "mesh": self.mesh,
            "workloads": [
                {**w.__dict__, "pods": list(w.pods)} for w in self.workloads.values()
            ],
            "requests": {k: [list(r) for r in v] for k, v in self.requests.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MeshInfo:
        workloads = {
            str(w["name"]): Workload(**{**w, "pods": tuple(w["pods"])})
            for w in data.get("workloads", [])
        }
        requests = {
            str(k): tuple((str(m), str(p)) for m, p in v)
            for k, v in dict(data.get("requests", {})).items()
        }
        return cls(mesh=str(data.get("mesh", "none")), workloads=workloads, requests=requests)


def deployment_name(dep: Deployment) -> str:
    """Kubernetes style: ``reviews`` or, one Deployment per version, ``reviews-v2``."""
    return dep.service if dep.version is None else f"{dep.service}-{dep.version}"


def mesh_info(model: Model) -> MeshInfo:
    """The workloads of ``model`` with the sidecars and identities the engine gives them
    (``meshsim.sim.wiring``: a service's account is named after it, a workload's after it)."""
    mesh = model.mesh.name
    policy = model.policy
    found: dict[str, Workload] = {}
    requests: dict[str, set[tuple[str, str]]] = {}
    for service in model.topology.services.values():
        for dep in service.deployments:
            meshed = _sidecar(model, service, dep)
            found[deployment_name(dep)] = Workload(
                name=deployment_name(dep), kind="deployment", service=service.name,
                version=dep.version or "", namespace=service.namespace, meshed=meshed,
                identity=_identity(mesh, service.name, service.namespace) if meshed else "",
                mtls=_mtls(model, service.namespace, dep.labels) if meshed else "",
                pods=tuple(dep.pod_names()),
            )
            for call in _calls(dep.calls):
                requests.setdefault(f"{deployment_name(dep)}>{call.service}", set()).add(
                    (call.method, call.path))
    services = model.topology.services
    for workload in model.workloads:
        meshed = model.mesh.has_sidecars and workload.target in services
        found[workload.name] = Workload(
            name=workload.name, kind="client", service="", version="", namespace="default",
            meshed=meshed, identity=_identity(mesh, workload.name, "default") if meshed else "",
            mtls="", pods=tuple(workload.client_names()),
        )
        sent = {(r.method, r.path) for r in workload.requests}
        requests.setdefault(f"{workload.name}>{workload.target}", set()).update(sent)
    for gateway in (policy.gateways.values() if policy is not None else ()):
        stem = gateway.name.rsplit("/", 1)[-1]
        found[stem] = Workload(
            name=stem, kind="gateway", service="", version="", namespace=GATEWAY_NAMESPACE,
            meshed=True, identity=spiffe_principal(GATEWAY_ACCOUNT, GATEWAY_NAMESPACE),
            mtls="", pods=tuple(f"{stem}-{i}" for i in range(gateway.replicas)),
        )
    return MeshInfo(
        mesh=mesh, workloads=found,
        requests={k: tuple(sorted(v)) for k, v in sorted(requests.items())},
    )


def _sidecar(model: Model, service: Service, dep: Deployment) -> bool:
    if not model.mesh.has_sidecars or not dep.sidecar or service.external:
        return False
    return model.policy is None or model.policy.sidecars.get(service.name, True)


def _identity(mesh: str, account: str, namespace: str) -> str:
    return spiffe_principal(account, namespace) if mesh == "istio" else identity_of(
        account, namespace)


def _mtls(model: Model, namespace: str, labels: Mapping[str, str]) -> str:
    security = model.policy.security if model.policy is not None else None
    if model.mesh.name != "istio":
        return "STRICT" if model.mesh.has_sidecars else ""  # Linkerd: meshed pods always mTLS
    return security.mtls_mode(namespace, labels) if security is not None else "PERMISSIVE"


def _calls(steps: tuple[Any, ...]) -> Iterator[Call]:
    for step in steps:
        if isinstance(step, Parallel):
            yield from _calls(step.calls)
        elif isinstance(step, Call):
            yield step
