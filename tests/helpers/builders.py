"""Small model builders for engine tests (no YAML, so failures point at the engine)."""

from __future__ import annotations

from meshsim.model import (
    Call,
    CallStep,
    Contention,
    Deployment,
    Distribution,
    Exponential,
    Fault,
    MeshProfile,
    Model,
    RateStep,
    Service,
    Topology,
    Workload,
)


def deployment(
    service: str, *, latency: Distribution, replicas: int = 1, concurrency: int = 1,
    queue: int | None = None, errors: float = 0.0, contention: Contention | None = None,
    calls: tuple[CallStep, ...] = (), version: str | None = None,
) -> Deployment:
    return Deployment(
        service=service, version=version, replicas=replicas, concurrency=concurrency,
        queue=queue, latency=latency, errors=errors, contention=contention or Contention(),
        calls=calls, labels={"version": version} if version else {},
    )


def model(
    deployments: list[Deployment], *, rate: float, duration: float, target: str | None = None,
    seed: int = 1, mesh: str = "none", latency: float = 0.0, overhead: float = 0.0,
    clients: int = 1, timeout: float = 0.0, arrival: str = "poisson",
    faults: tuple[Fault, ...] = (), cancellation: str = "none", warmup: float = 0.0,
) -> Model:
    services: dict[str, list[Deployment]] = {}
    for dep in deployments:
        services.setdefault(dep.service, []).append(dep)
    topo = Topology(
        services={n: Service(n, "default", tuple(d)) for n, d in services.items()},
        network_latency=latency, proxy_overhead=overhead,
    )
    wl = Workload(
        name="users", target=target or deployments[0].service, schedule=(RateStep(0.0, rate),),
        arrival=arrival, clients=clients, timeout=timeout,  # type: ignore[arg-type]
    )
    return Model(
        name="test", mesh=MeshProfile(mesh), duration=duration, warmup=warmup, seed=seed,  # type: ignore[arg-type]
        topology=topo, workloads=(wl,), faults=faults, cancellation=cancellation,  # type: ignore[arg-type]
    )


def one_pod(
    *, c: int, lam: float, mean: float, customers: int, seed: int = 1,
    latency: Distribution | None = None, queue: int | None = None,
    contention: Contention | None = None,
) -> Model:
    """One pod, Poisson arrivals, no network or proxy: the queueing.md set-up."""
    dep = deployment(
        "queue", latency=latency or Exponential(mean), concurrency=c, queue=queue,
        contention=contention,
    )
    return model([dep], rate=lam, duration=customers / lam, seed=seed)


def chain(*names: str, latency: Distribution) -> list[Deployment]:
    """a → b → c: each service calls the next."""
    deps = []
    for i, name in enumerate(names):
        calls: tuple[CallStep, ...] = (Call(names[i + 1]),) if i + 1 < len(names) else ()
        deps.append(deployment(name, latency=latency, concurrency=8, calls=calls))
    return deps
