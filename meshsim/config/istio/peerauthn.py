"""PeerAuthentication → :class:`PeerAuthnPolicy`: the mTLS mode of each inbound sidecar.

Follows ``pilot/pkg/security/authn``: a workload's mode comes from the policy selecting it in
its namespace, else its namespace's policy without selector, else the mesh-wide one in the root
namespace (``istio-system``); ``UNSET`` inherits from the level above, and the default is
PERMISSIVE. ``portLevelMtls`` needs a ``selector`` (Istio's validation). meshsim pods serve one
unnumbered port, so a single port-level entry is taken to be that port (a named warning).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.model.authz import MtlsMode, PeerAuthnPolicy, WorkloadSelector

MODES = ("UNSET", "STRICT", "PERMISSIVE", "DISABLE")
PORT_MODE_FIELDS = ("mode",)


def parse_peer_authentications(
    manifests: Iterable[Manifest], diagnostics: Diagnostics
) -> tuple[PeerAuthnPolicy, ...]:
    out: list[PeerAuthnPolicy] = []
    seen: dict[tuple[str, bool], str] = {}
    for manifest in manifests:
        policy = parse_peer_authentication(manifest, diagnostics)
        key = (manifest.namespace, policy.selector.labels is not None)
        if not key[1] and key in seen:
            diagnostics.warn(Node.root(manifest), f"{manifest.key}: {seen[key]} already sets "
                             f"the mode of namespace {manifest.namespace}; Istio keeps the "
                             "oldest and meshsim the first written", code="approximated")
            continue
        seen.setdefault(key, manifest.key)
        out.append(policy)
    return tuple(out)


def parse_peer_authentication(manifest: Manifest, diagnostics: Diagnostics) -> PeerAuthnPolicy:
    spec = Node.root(manifest)["spec"]
    labels = spec["selector"]["matchLabels"].string_map() or None
    port_modes = parse_port_modes(spec["portLevelMtls"])
    if port_modes and labels is None:
        raise spec["portLevelMtls"].error(
            "portLevelMtls requires a selector (Istio rejects it on namespace- and mesh-wide "
            "policies)")
    if len(port_modes) == 1:
        diagnostics.warn(spec["portLevelMtls"], "portLevelMtls: meshsim pods serve one "
                         "unnumbered port: the port named here is taken to be it",
                         code="approximated")
    elif port_modes:
        diagnostics.warn(spec["portLevelMtls"], "portLevelMtls: meshsim pods serve one "
                         "unnumbered port and cannot tell which of these ports it is: the "
                         "port-level modes are ignored", code="approximated")
    return PeerAuthnPolicy(
        name=f"{manifest.namespace}/{manifest.name}",
        selector=WorkloadSelector(manifest.namespace, labels),
        mode=_mode(spec["mtls"]["mode"]),
        port_modes=port_modes if len(port_modes) == 1 else {},
    )


def parse_port_modes(node: Node) -> dict[int, MtlsMode | None]:
    """``portLevelMtls``: port number (a YAML int or string key) → mode."""
    out: dict[int, MtlsMode | None] = {}
    for key, value in node.mapping().items():
        item = Node(node.manifest, (*node.path, str(key)), value)
        text = str(key)
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise item.error(f"portLevelMtls key {text!r} must be a port number in [1, 65535]")
        for field in item.mapping():
            if field not in PORT_MODE_FIELDS:
                raise item[str(field)].error(f"unknown field {field!r} (expected one of mode)")
        out[int(text)] = _mode(item["mode"])
    return out


def _mode(node: Node) -> MtlsMode | None:
    mode = node.choice(MODES, "UNSET")
    return None if mode == "UNSET" else cast(MtlsMode, mode)
