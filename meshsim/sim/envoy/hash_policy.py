"""Route hash policy: the request hash a ring-hash or Maglev cluster balances on.

Models Envoy's ``HashPolicyImpl`` (envoyproxy/envoy ``source/common/http/hash_policy.cc``):
header, cookie (generated from the connection's addresses when it has a TTL and is missing),
source IP and query parameter. Istio sets it from a DestinationRule's
``consistentHash``; a route's key wins over the cluster's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from meshsim.sim.envoy.hashing import stable_hash64

if TYPE_CHECKING:
    from meshsim.model.routes import Route
    from meshsim.sim.envoy.cluster import Cluster
    from meshsim.sim.messages import Call


def request_hash(source: str, call: Call, route: Route, cluster: Cluster) -> int | None:
    """The request's hash for ``cluster``, or None (the balancer then draws a random one).

    ``source`` is the calling proxy's name, standing in for its address."""
    key = route.hash_key or cluster.policy.load_balancer.hash_key
    if key is None:
        return None
    value: str | None = None
    if key.kind == "header":
        lowered = {k.lower(): v for k, v in call.headers.items()}
        value = lowered.get(key.name.lower())
    elif key.kind == "cookie":
        lowered = {k.lower(): v for k, v in call.headers.items()}
        cookies = dict(
            part.strip().split("=", 1) for part in lowered.get("cookie", "").split(";")
            if "=" in part
        )
        value = cookies.get(key.name)
        if value is None and key.ttl is not None:
            # Envoy hashes the connection's addresses to generate the cookie.
            value = f"{source}->{cluster.service}"
    elif key.kind == "source_ip":
        value = source
    elif key.kind == "query":
        value = dict(parse_qsl(call.path.partition("?")[2])).get(key.name)
    return None if value is None else stable_hash64(value)
