"""Which manifest a finding is about: istioctl names the resource, meshsim also its line."""

from __future__ import annotations

from collections.abc import Sequence

from meshsim.analyze.messages import Resource
from meshsim.config import Manifest
from meshsim.config.yamlsrc import YamlPath
from meshsim.model import Model
from meshsim.model.routes import Route


def of_manifest(manifest: Manifest, path: YamlPath = ()) -> Resource:
    location = manifest.location(path)
    return Resource(manifest.kind, manifest.name, manifest.namespace or "default",
                    location.file, location.line)


def of_service(manifests: Sequence[Manifest], model: Model, service: str) -> Resource:
    """The Service manifest when the scenario has one (Linkerd annotations), else its name."""
    spec = model.topology.services.get(service)
    namespace = spec.namespace if spec else "default"
    for manifest in manifests:
        if (manifest.kind, manifest.name) == ("Service", service) and (
                manifest.namespace or "default") == namespace:
            return of_manifest(manifest)
    return Resource("Service", service, namespace)


def of_route(manifests: Sequence[Manifest], model: Model, route: Route | None,
             service: str) -> Resource:
    """The VirtualService, HTTPRoute or ServiceProfile rule ``route`` came from, else the
    Service (mesh defaults and annotations)."""
    if route is not None:
        for manifest in manifests:
            path = _rule_path(manifest, route.name)
            if path is not None:
                return of_manifest(manifest, path)
    return of_service(manifests, model, service)


def _rule_path(manifest: Manifest, name: str) -> YamlPath | None:
    spec = manifest.data.get("spec")
    if not isinstance(spec, dict):
        return None
    if manifest.kind == "VirtualService":
        for i, rule in enumerate(_list(spec.get("http"))):
            own = rule.get("name") or f"{manifest.name}.http[{i}]"
            if name == own or name.startswith(f"{own}."):
                return ("spec", "http", i)
    if manifest.kind == "HTTPRoute":
        for i, rule in enumerate(_list(spec.get("rules"))):
            own = rule.get("name") or f"{manifest.namespace}/{manifest.name}/rule{i}"
            if name == own:
                return ("spec", "rules", i)
    if manifest.kind == "ServiceProfile":
        for i, rule in enumerate(_list(spec.get("routes"))):
            if rule.get("name") == name:
                return ("spec", "routes", i)
    return None


def _list(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
