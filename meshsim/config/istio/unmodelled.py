"""Istio kinds meshsim loads but does not apply yet: one named warning per manifest."""

from __future__ import annotations

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest

REASONS = {
    "Sidecar": "Sidecar scoping (egress hosts, outbound traffic policy) is not modelled: every "
    "sidecar sees every service",
    "RequestAuthentication": "JWT authentication is not modelled: requests carry no tokens",
}


def warn_unmodelled(manifest: Manifest, diagnostics: Diagnostics) -> None:
    diagnostics.warn(
        Node.root(manifest),
        f"{manifest.key} is loaded but not applied: {REASONS[manifest.kind]}",
        code="unmodelled-kind",
    )
