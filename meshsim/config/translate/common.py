"""What both directions share: host names, the split services, durations as written."""

from __future__ import annotations

from typing import Any

from meshsim.config.manifests import Manifest

Doc = dict[str, Any]
SERVICE_PORT = 8080  # meshsim pods serve one port; manifests that need a port name this one


def short_host(host: str) -> str:
    """``reviews.default.svc.cluster.local`` → ``reviews`` (meshsim's service names)."""
    return str(host).split(".")[0]


def namespace_of(host: str, default: str) -> str:
    parts = str(host).split(".")
    return parts[1] if len(parts) > 1 and parts[1] != "svc" else default


def meta(name: str, namespace: str, annotations: dict[str, str] | None = None) -> Doc:
    out: Doc = {"name": name, "namespace": namespace}
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def spec_of(manifest: Manifest) -> dict[str, Any]:
    spec = manifest.data.get("spec")
    return dict(spec) if isinstance(spec, dict) else {}


def subset_service(host: str, subset: str) -> str:
    """Linkerd has no subsets: one Service per version, named ``<service>-<subset>``."""
    return f"{host}-{subset}"
