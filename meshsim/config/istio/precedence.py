"""The order istiod reads VirtualServices in: oldest first.

``pilot/pkg/model/push_context.go`` sorts them with ``sortConfigByCreationTime``: ascending
``metadata.creationTimestamp``, ties broken by name, then namespace (``cmp.Compare`` on each in
current istiod; older releases compared the string ``name.namespace``, which put ``vs-b``
before ``vs``). That order decides which of
two VirtualServices for one host a sidecar keeps and in which order a gateway merges routes.
A manifest without a timestamp has not been applied yet: meshsim takes it as applied now,
after every timestamped one, and its place in the files as its apply order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest


def creation_time(manifest: Manifest) -> datetime | None:
    """``metadata.creationTimestamp`` (RFC 3339), or None when the manifest has none."""
    node = Node.root(manifest)["metadata"]["creationTimestamp"]
    if not node.present or node.value is None:
        return None
    value = node.value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise node.error(
                f"creationTimestamp must be an RFC 3339 time like 2024-05-01T12:00:00Z, "
                f"got {node.value!r}"
            ) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise node.error(f"creationTimestamp must be an RFC 3339 time, got {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise node.error(f"creationTimestamp {node.value!r} is out of range") from None


def apply_order(manifests: Sequence[Manifest]) -> list[Manifest]:
    """Oldest first; ties by name, then namespace; untimestamped ones last, in file order."""
    times = {id(m): creation_time(m) for m in manifests}
    stamped = [m for m in manifests if times[id(m)] is not None]
    stamped.sort(key=lambda m: (times[id(m)], m.name, m.namespace))
    return stamped + [m for m in manifests if times[id(m)] is None]


def why_first(first: Manifest, later: Manifest) -> str:
    """Why ``first`` takes precedence over ``later``, in words a user can check."""
    a, b = creation_time(first), creation_time(later)
    if a is not None and b is not None:
        if a == b:
            return (f"both were created at {a.isoformat()}, and Istio then orders by name, "
                    f"then namespace")
        return f"it is older (creationTimestamp {a.isoformat()} against {b.isoformat()})"
    if a is not None:
        return (f"it has a creationTimestamp ({a.isoformat()}) and {later.key} has none, so "
                "meshsim takes it as applied later")
    return ("neither has a metadata.creationTimestamp, so meshsim takes the order of the files "
            "as the order they were applied in (Istio keeps the oldest)")
