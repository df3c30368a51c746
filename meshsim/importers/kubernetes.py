"""``meshsim import kubernetes``: a scenario from ``kubectl get ... -o yaml`` dumps.

A dump is a ``List`` (what ``kubectl get a,b -o yaml`` prints) or a stream of objects. Kubernetes
Services become scenario services in their namespace; the Deployments and StatefulSets their
selector matches give the replicas, and, when a DestinationRule subset selects their pod
template labels (or several workloads sit behind one Service), one version each, labelled as
the subset selects. Pod template labels and annotations say whether a pod opts in or out of
injection (``sidecar.istio.io/inject``, ``linkerd.io/inject``); Namespaces pass through with
their labels and annotations, as do every Istio, Linkerd, Gateway API, Flagger and Argo
object, stripped of what the cluster added (status, uid, managedFields, ...).

What a dump cannot say (latency, errors, concurrency, calls, the load) is written as a
placeholder with a ``TODO(meshsim import)`` comment, so the scenario loads and runs as is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshsim.config.manifests import KNOWN_KINDS
from meshsim.config.yamlsrc import Document, load_stream, nearest_position, read_text
from meshsim.errors import Location, ScenarioError
from meshsim.importers.emit import Imported
from meshsim.importers.traces import name_of

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
ROLLOUT_WORKLOADS = ("Rollout",)
_CLUSTER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation",
                     "managedFields", "selfLink", "ownerReferences", "finalizers")
_CLUSTER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",
                        "deployment.kubernetes.io/revision")
_INJECTION = ("sidecar.istio.io/inject", "linkerd.io/inject")
PLACEHOLDER_LATENCY = "exponential(10ms)"
# Which meshes read each family of manifests (as config.manifests accepts them).
_MESHES_OF = {"istio": ("istio",), "linkerd": ("linkerd",), "gateway-api": ("istio", "linkerd"),
              "rollout": ("istio", "linkerd", "none"), "kubernetes": ("istio", "linkerd", "none")}


@dataclass
class _Object:
    data: dict[str, Any]
    file: str
    where: Location

    @property
    def kind(self) -> str:
        return str(self.data.get("kind"))

    @property
    def group(self) -> str:
        return str(self.data.get("apiVersion", "")).rpartition("/")[0]

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.meta.get("namespace") or "default")


@dataclass
class _Cluster:
    services: list[_Object] = field(default_factory=list)
    workloads: list[_Object] = field(default_factory=list)
    namespaces: list[_Object] = field(default_factory=list)
    mesh: list[_Object] = field(default_factory=list)
    generated: list[_Object] = field(default_factory=list)  # workloads a Flagger Canary owns
    ignored: Counter[str] = field(default_factory=Counter)


def import_kubernetes(paths: Iterable[Path], *, name: str = "imported",
                      mesh: str | None = None) -> Imported:
    files = list(paths)
    cluster = _Cluster()
    for path in files:
        for obj in _objects(path):
            _sort(cluster, obj)
    out = Imported({
        "apiVersion": "meshsim/v1alpha1", "kind": "Scenario",
        "metadata": {"name": name, "description": "Imported from Kubernetes objects"},
        "spec": {"mesh": mesh or _mesh(cluster), "duration": "60s", "warmup": "5s",
                 "seed": 1, "services": {}, "workload": []},
    })
    out.header = [f"Imported by meshsim from {', '.join(map(str, files))}.",
                  "Values marked TODO(meshsim import) are placeholders a dump cannot give: "
                  "fill them in or take them from traces",
                  "(meshsim import traces FILE... --into this-file.yaml)."]
    if mesh is None and not (cluster.mesh or _injected_anywhere(cluster)):
        out.todo(("spec", "mesh"), "no Istio or Linkerd object or injection label found")
    subsets = _subsets(cluster.mesh)
    aliases = _rollout_services(cluster)
    for service in sorted(cluster.services, key=lambda s: (s.namespace, s.name)):
        if (service.namespace, service.name) in aliases:
            continue  # Argo's canaryService/stableService: the Rollout's own pods again
        _service(out, service, _behind(service, cluster.workloads), subsets,
                 _canaries(cluster))
    _canary_services(out, cluster)
    _orphans(out, cluster)
    _workload(out, files)
    out.manifests = [_clean(n, namespace=True) for n in cluster.namespaces]
    chosen_mesh = out.scenario["spec"]["mesh"]
    for obj in cluster.mesh:
        if chosen_mesh in _MESHES_OF[KNOWN_KINDS[obj.group][0]]:
            out.manifests.append(_clean(obj))
        else:  # the other mesh's objects: a scenario rehearses one mesh
            kind = f"{obj.data.get('apiVersion')}/{obj.kind}"
            cluster.ignored[f"{kind} (not read under mesh {chosen_mesh})"] += 1
    out.report = [{"kind": kind, "count": count, "used": False}
                  for kind, count in sorted(cluster.ignored.items())]
    return out


# -- reading ----------------------------------------------------------------------------------
def _objects(path: Path) -> Iterator[_Object]:
    file = str(path)
    for document in load_stream(read_text(path, "Kubernetes dump"), file):
        yield from _flatten(document, document.data, (), file)


def _flatten(document: Document, data: object, path: tuple[str | int, ...], file: str
             ) -> Iterator[_Object]:
    where = _locate(document, path, file)
    if not isinstance(data, dict):
        raise ScenarioError("expected a Kubernetes object (a mapping with apiVersion and kind)",
                            where)
    kind = data.get("kind")
    if not isinstance(kind, str) or "apiVersion" not in data:
        raise ScenarioError("not a Kubernetes object: it needs apiVersion and kind "
                            "(is this `kubectl get ... -o yaml` output?)", where)
    if kind == "List" or (kind.endswith("List") and isinstance(data.get("items"), list)):
        items = data.get("items")
        if not isinstance(items, list):
            raise ScenarioError("a List needs items: [...]", _locate(document, (*path, "items"),
                                                                      file))
        for index, item in enumerate(items):
            yield from _flatten(document, item, (*path, "items", index), file)
        return
    if not isinstance(data.get("metadata"), dict) or not data["metadata"].get("name"):
        raise ScenarioError(f"{kind} without metadata.name",
                            _locate(document, (*path, "metadata"), file))
    yield _Object(data, file, where)


def _locate(document: Document, path: tuple[str | int, ...], file: str) -> Location:
    found = nearest_position(document.positions, path)
    dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    if found is None:
        return Location(file=file, path=dotted)
    return Location(file=file, line=found[0], column=found[1], path=dotted)


def _sort(cluster: _Cluster, obj: _Object) -> None:
    family = KNOWN_KINDS.get(obj.group)
    if obj.kind == "Service" and obj.group == "":
        if not _owned_by_canary(obj):
            cluster.services.append(obj)
    elif obj.kind in WORKLOAD_KINDS and obj.group == "apps":
        if _owned_by_canary(obj):  # Flagger's <name>-primary: the Canary stands for it
            cluster.generated.append(obj)
        else:
            cluster.workloads.append(obj)
    elif obj.kind in ROLLOUT_WORKLOADS and obj.group == "argoproj.io":
        cluster.workloads.append(obj)  # an Argo Rollout runs the pods: replicas, template
        cluster.mesh.append(obj)
    elif obj.kind == "Namespace" and obj.group == "":
        cluster.namespaces.append(obj)
    elif family is not None and family[0] != "kubernetes" and obj.kind in family[1]:
        if not _owned_by_canary(obj):  # generated by Flagger from the Canary: it is re-made
            cluster.mesh.append(obj)
    else:
        cluster.ignored[f"{obj.data.get('apiVersion')}/{obj.kind}"] += 1


# -- the scenario -----------------------------------------------------------------------------
def _template(workload: _Object) -> tuple[dict[str, str], dict[str, str]]:
    """The pod template's labels and annotations."""
    spec = workload.data.get("spec") or {}
    meta = ((spec.get("template") or {}).get("metadata") or {}) if isinstance(spec, dict) else {}
    return ({str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
            {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()})


def _behind(service: _Object, workloads: list[_Object]) -> list[_Object]:
    spec = service.data.get("spec") or {}
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if not isinstance(selector, dict) or not selector:
        return []
    wanted = {str(k): str(v) for k, v in selector.items()}
    return [w for w in workloads if w.namespace == service.namespace
            and wanted.items() <= _template(w)[0].items()]


def _subsets(mesh: list[_Object]) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Host's first DNS label → DestinationRule subsets (name, labels)."""
    out: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for obj in mesh:
        spec = obj.data.get("spec") or {}
        if obj.kind != "DestinationRule" or not isinstance(spec, dict):
            continue
        host = str(spec.get("host", "")).split(".")[0]
        for subset in spec.get("subsets") or []:
            if isinstance(subset, dict) and subset.get("name"):
                labels = {str(k): str(v) for k, v in (subset.get("labels") or {}).items()}
                out.setdefault(host, []).append((str(subset["name"]), labels))
    return out


def _service(out: Imported, service: _Object, workloads: list[_Object],
             subsets: Mapping[str, list[tuple[str, dict[str, str]]]],
             canaries: Mapping[tuple[str, str], int]) -> None:
    name = name_of(service.name)
    services = out.scenario["spec"]["services"]
    path = ("spec", "services", name)
    if name in services:
        out.note(path, f"also a Service {service.name} in namespace {service.namespace}, "
                 "left out: meshsim names services uniquely")
        return
    entry: dict[str, Any] = {}
    if service.namespace != "default":
        entry["namespace"] = name_of(service.namespace)
    entry["concurrency"] = 16
    out.todo((*path, "concurrency"), "worker slots per pod: a dump does not say")
    entry["latency"] = PLACEHOLDER_LATENCY
    out.todo((*path, "latency"), "service time: take it from traces")
    if workloads:
        behind = ", ".join(f"{w.kind}/{w.name}" for w in workloads)
        out.note(path, f"{_ports(service)} behind {behind}")
    else:
        out.todo(path, f"{_ports(service)}; no Deployment or StatefulSet selected by it in "
                 "the dump (1 replica assumed)")
    labels = _injection_labels(workloads)
    if labels:
        entry["labels"] = labels
    spec = service.data.get("spec") or {}
    if isinstance(spec, dict) and spec.get("type") == "ExternalName":
        entry["external"] = True  # a DNS name outside the cluster: no pods, no sidecar
        out.note((*path, "external"), f"ExternalName {spec.get('externalName', '')}")
    chosen = subsets.get(service.name, [])
    progressive = _progressive(workloads, canaries.get((service.namespace, service.name)))
    if progressive is not None:
        entry["versions"] = progressive
        out.note((*path, "versions"), "two versions of the same size: the pools a canary "
                 "rollout starts its pods from")
    elif len(workloads) > 1 or (chosen and workloads):
        entry["versions"] = _versions(workloads, chosen)
    else:
        entry["replicas"] = _replicas(workloads[0]) if workloads else 1
    services[name] = entry


def _rollout_services(cluster: _Cluster) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for rollout in (w for w in cluster.workloads if w.kind in ROLLOUT_WORKLOADS):
        spec = rollout.data.get("spec") or {}
        canary = ((spec.get("strategy") or {}).get("canary") or {}) if isinstance(spec, dict) \
            else {}
        for key in ("canaryService", "stableService"):
            if isinstance(canary, dict) and canary.get(key):
                out.add((rollout.namespace, str(canary[key])))
    return out


def _owned_by_canary(obj: _Object) -> bool:
    owners = obj.meta.get("ownerReferences") or []
    return any(isinstance(o, dict) and o.get("kind") == "Canary" for o in owners)


def _canaries(cluster: _Cluster) -> dict[tuple[str, str], int]:
    """(namespace, service) → replicas, for each Flagger Canary: the service it names
    (``spec.service.name``, else the target's name) runs a primary and a canary of the target
    Deployment's size (Flagger's ``<name>-primary`` copy, when the dump has it)."""
    out: dict[tuple[str, str], int] = {}
    for obj in cluster.mesh:
        spec = obj.data.get("spec") or {}
        if obj.kind != "Canary" or obj.group != "flagger.app" or not isinstance(spec, dict):
            continue
        target = str((spec.get("targetRef") or {}).get("name", ""))
        name = str((spec.get("service") or {}).get("name") or target)
        sizes = [_replicas(w) for w in [*cluster.workloads, *cluster.generated]
                 if w.namespace == obj.namespace and w.name in (target, f"{target}-primary")]
        out[(obj.namespace, name)] = max(sizes, default=1)
    return out


def _progressive(workloads: list[_Object], canary: int | None) -> dict[str, Any] | None:
    """Versions for a progressive rollout: Flagger's primary/canary, Argo's stable/canary
    (named after the Rollout's DestinationRule subsets when it routes by subset)."""
    if canary is not None:
        return {"primary": {"replicas": canary}, "canary": {"replicas": canary}}
    rollout = next((w for w in workloads if w.kind in ROLLOUT_WORKLOADS), None)
    if rollout is None:
        return None
    spec = rollout.data.get("spec") or {}
    strategy = ((spec.get("strategy") or {}).get("canary") or {}) if isinstance(spec, dict) \
        else {}
    rule = ((strategy.get("trafficRouting") or {}).get("istio") or {}).get(
        "destinationRule") or {} if isinstance(strategy, dict) else {}
    stable = str(rule.get("stableSubsetName") or "stable")
    canary_name = str(rule.get("canarySubsetName") or "canary")
    size = _replicas(rollout)
    return {stable: {"replicas": size}, canary_name: {"replicas": size}}


def _ports(service: _Object) -> str:
    spec = service.data.get("spec") or {}
    ports = []
    for port in (spec.get("ports") or []) if isinstance(spec, dict) else []:
        if isinstance(port, dict):
            protocol = port.get("appProtocol") or str(port.get("name", "")).split("-")[0] or \
                port.get("protocol", "TCP")
            ports.append(f"{port.get('port')}/{protocol}")
    return f"Service {service.namespace}/{service.name} ports {', '.join(ports) or 'none'}"


def _replicas(workload: _Object) -> int:
    spec = workload.data.get("spec") or {}
    replicas = spec.get("replicas", 1) if isinstance(spec, dict) else 1
    return int(replicas) if isinstance(replicas, int) and replicas >= 0 else 1


def _versions(workloads: list[_Object], subsets: list[tuple[str, dict[str, str]]]
              ) -> dict[str, Any]:
    versions: dict[str, Any] = {}
    for workload in workloads:
        labels, _ = _template(workload)
        subset = next(((n, sel) for n, sel in subsets if sel.items() <= labels.items()), None)
        if subset is not None:
            version, selected = subset
        elif "version" in labels:
            version, selected = labels["version"], {"version": labels["version"]}
        else:
            version, selected = workload.name, {"version": workload.name}
        key = name_of(version)
        entry: dict[str, Any] = {"replicas": _replicas(workload)}
        if selected != {"version": key}:
            entry["labels"] = selected
        versions.setdefault(key, entry)
    return versions


def _injection_labels(workloads: list[_Object]) -> dict[str, str]:
    """Opt-outs and opt-ins on the pod template: Istio's label (or its older annotation) and
    Linkerd's annotation, which the scenario carries as service labels."""
    labels: dict[str, str] = {}
    for workload in workloads:
        template_labels, annotations = _template(workload)
        for key in _INJECTION:
            value = template_labels.get(key, annotations.get(key))
            if value is not None:
                labels[key] = value
    return labels


def _canary_services(out: Imported, cluster: _Cluster) -> None:
    """A Flagger Canary whose Service the dump lacks (Flagger generated it, so it was left
    out with the other objects it owns): the service, with primary and canary versions."""
    services = out.scenario["spec"]["services"]
    for (namespace, name), size in _canaries(cluster).items():
        key = name_of(name)
        if key in services:
            continue
        path = ("spec", "services", key)
        entry: dict[str, Any] = {"concurrency": 16, "latency": PLACEHOLDER_LATENCY}
        if namespace != "default":
            entry["namespace"] = name_of(namespace)
        entry["versions"] = {"primary": {"replicas": size}, "canary": {"replicas": size}}
        services[key] = entry
        out.note(path, f"the service of Flagger Canary {namespace}/{name}")
        out.todo((*path, "latency"), "service time: take it from traces")
        out.todo((*path, "concurrency"), "worker slots per pod: a dump does not say")


def _canary_targets(cluster: _Cluster) -> set[tuple[str, str]]:
    out = set()
    for obj in cluster.mesh:
        spec = obj.data.get("spec") or {}
        if obj.kind == "Canary" and isinstance(spec, dict):
            out.add((obj.namespace, str((spec.get("targetRef") or {}).get("name", ""))))
    return out


def _orphans(out: Imported, cluster: _Cluster) -> None:
    """Workloads no Service selects: a service of their own, named after them."""
    selected = {id(w) for s in cluster.services for w in _behind(s, cluster.workloads)}
    targets = _canary_targets(cluster)
    selected |= {id(w) for w in cluster.workloads if (w.namespace, w.name) in targets}
    services = out.scenario["spec"]["services"]
    for workload in cluster.workloads:
        name = name_of(workload.name)
        if id(workload) in selected or name in services:
            continue
        path = ("spec", "services", name)
        entry: dict[str, Any] = {"concurrency": 16, "latency": PLACEHOLDER_LATENCY,
                                 "replicas": _replicas(workload)}
        if workload.namespace != "default":
            entry["namespace"] = name_of(workload.namespace)
        labels = _injection_labels([workload])
        if labels:
            entry["labels"] = labels
        services[name] = entry
        out.todo(path, f"{workload.kind}/{workload.name} has no Service in the dump")
        out.todo((*path, "latency"), "service time: take it from traces")
        out.todo((*path, "concurrency"), "worker slots per pod: a dump does not say")


def _workload(out: Imported, files: list[Path]) -> None:
    services = out.scenario["spec"]["services"]
    if not services:
        raise ScenarioError("no Service, Deployment, StatefulSet or Rollout in the dump: "
                            "nothing to build a scenario from",
                            Location(file=", ".join(map(str, files)) or "<no dump>"))
    target = sorted(services)[0]
    out.scenario["spec"]["workload"] = [
        {"name": "users", "target": target, "rate": "100/s", "arrival": "poisson"}]
    out.todo(("spec", "workload", 0), "the load: entry point, rate and mix are not in a dump")


def _mesh(cluster: _Cluster) -> str:
    score: Counter[str] = Counter()
    for obj in cluster.mesh:
        family = KNOWN_KINDS.get(obj.group, ("", ()))[0]
        if family in ("istio", "linkerd"):
            score[family] += 1
        spec = obj.data.get("spec") or {}
        provider = str(spec.get("provider", "")) if isinstance(spec, dict) else ""
        if obj.kind == "Canary" and provider in ("istio", "linkerd"):
            score[provider] += 1
    for ns in cluster.namespaces:
        labels = ns.meta.get("labels") or {}
        annotations = ns.meta.get("annotations") or {}
        score["istio"] += "istio-injection" in labels or "istio.io/rev" in labels
        score["linkerd"] += "linkerd.io/inject" in annotations
    for workload in cluster.workloads:
        labels, annotations = _template(workload)
        score["istio"] += "sidecar.istio.io/inject" in labels or any(
            k.startswith("sidecar.istio.io/") for k in annotations)
        score["linkerd"] += "linkerd.io/inject" in annotations
    best = score.most_common(1)
    return best[0][0] if best and best[0][1] > 0 else "none"


def _injected_anywhere(cluster: _Cluster) -> bool:
    return _mesh(_Cluster(namespaces=cluster.namespaces, workloads=cluster.workloads)) != "none"


def _clean(obj: _Object, *, namespace: bool = False) -> dict[str, Any]:
    """The object as the user would write it: what the cluster added removed."""
    data = {k: v for k, v in obj.data.items() if k != "status"}
    if namespace:
        data.pop("spec", None)  # finalizers only
    meta = {k: v for k, v in obj.meta.items() if k not in _CLUSTER_METADATA}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k not in _CLUSTER_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    data["metadata"] = meta
    return data
