"""linkerd-failover's TrafficSplits → :class:`~meshsim.model.linkerd.FailoverSplit`.

The controller (linkerd/linkerd-failover ``controller/src/traffic_split.rs``) manages the SMI
TrafficSplits its label selector picks (chart default ``failover.linkerd.io/controlled-by``)
that carry the annotation ``failover.linkerd.io/primary-service``; any other TrafficSplit is
left alone (reference/multicluster.md §2.5). meshsim models one fallback backend.
"""

from __future__ import annotations

from meshsim.config.manifest.hosts import HostIndex
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifests import Manifest
from meshsim.model.linkerd import FailoverSplit

PRIMARY = "failover.linkerd.io/primary-service"
CONTROLLED_BY = "failover.linkerd.io/controlled-by"


def failover_splits(splits: list[Manifest], index: HostIndex,
                    diagnostics: Diagnostics) -> tuple[FailoverSplit, ...]:
    out = []
    for manifest in splits:
        root = Node.root(manifest)
        annotation = root["metadata"]["annotations"][PRIMARY]
        if not annotation.present:
            continue
        if not root["metadata"]["labels"].has(CONTROLLED_BY):
            diagnostics.warn(annotation, f"{manifest.key} has {PRIMARY} but not the label "
                             f"{CONTROLLED_BY}: linkerd-failover does not select it",
                             code="no-effect")
            continue
        spec = root["spec"]
        apex = index.resolve(spec["service"].string(), manifest.namespace)
        backends = [index.resolve(item["service"].string(), manifest.namespace)
                    for item in spec["backends"].items()]
        names = [b.service for b in backends if b is not None]
        primary = index.resolve(annotation.string(), manifest.namespace)
        if apex is None or primary is None or primary.service not in names:
            raise annotation.error(f"{PRIMARY} {annotation.string()!r} is not a backend of "
                                   f"{manifest.key}")
        fallbacks = [n for n in names if n != primary.service]
        if not fallbacks:
            raise spec["backends"].error(f"{manifest.key} needs a fallback backend besides "
                                         f"the primary {primary.service}")
        if len(fallbacks) > 1:
            diagnostics.warn(spec["backends"], f"{manifest.key}: meshsim fails over to the "
                             f"first fallback ({fallbacks[0]}) only", code="approximated")
        out.append(FailoverSplit(manifest.name, apex.service, primary.service, fallbacks[0]))
    return tuple(out)
