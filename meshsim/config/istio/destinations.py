"""Route and mirror destinations → services, subsets and weights (``route/route.go``).

A destination host must name a scenario service or a ServiceEntry host, and a subset must be
defined by a DestinationRule (otherwise Envoy has no such cluster and answers 503 NC).
``applyHTTPRouteDestination``: a single destination takes all traffic whatever its weight;
with several, weight-0 destinations are dropped, and since Istio 1.15 only an all-zero total
is rejected (validation's ``validateHTTPRouteDestinations``; before, any total but 100). Envoy
then splits by weight/total. A total other than 100, or a weight on a lone destination, is a
warning (code ``weights``) saying what each destination actually gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshsim.config.manifest.hosts import HostIndex, is_wildcard
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.model.routes import Backend

from .destinationrule import ServiceRule, warn_kubernetes_form
from .profile import IstioProfile

INTERNAL_HEADERS = (":authority", "host")


@dataclass(frozen=True)
class Target:
    service: str
    subset: str | None
    port: int | None


class Destinations:
    """Resolves destinations against the scenario's services and DestinationRules."""

    def __init__(self, index: HostIndex, rules: Mapping[str, ServiceRule],
                 profile: IstioProfile, diagnostics: Diagnostics) -> None:
        self.index = index
        self.rules = rules
        self.profile = profile
        self.diagnostics = diagnostics
        self.ports: dict[str, set[int]] = {}  # service → ports destinations name

    def target(self, node: Node) -> Target:
        """One ``Destination`` (host, subset, port)."""
        host = node["host"]
        if not host.string():
            raise node.error("a destination needs a host")
        if is_wildcard(host.string()):
            raise host.error(f"a destination host cannot be a wildcard, got {host.string()!r}")
        resolved = self.index.resolve(host.string(), host.manifest.namespace)
        if resolved is None:
            fqdn = self.index.qualify(host.string(), host.manifest.namespace)
            raise host.missing(
                f"destination host {host.string()!r} ({fqdn}) is no service of the scenario and "
                f"no ServiceEntry host{self.index.suggestion(host.string())}",
                _reference(node, "host"), host.string(),
            )
        if resolved.kubernetes_form:
            warn_kubernetes_form(host, resolved, self.diagnostics)
        service = resolved.service
        subset = node["subset"].string() or None
        if subset is not None:
            rule = self.rules.get(service)
            if rule is None or subset not in rule.subsets:
                known = sorted(rule.subsets) if rule else []
                raise node["subset"].missing(
                    f"subset {subset!r} of {service} is defined by no DestinationRule"
                    + (f" (defined: {', '.join(known)})" if known else "")
                    + "; Envoy would find no such cluster and answer 503 NC",
                    "host+subset in destinationrule", f"{host.string()}+{subset}",
                )
        port = None
        if node["port"].present:
            port = node["port"]["number"].integer(minimum=1, maximum=65535)
            self.ports.setdefault(service, set()).add(port)
        return Target(service, subset, port)

    def backends(self, route: Node) -> list[tuple[Backend, Node]]:
        """The weighted destinations of ``route:`` with the node each came from."""
        entries = route.items()
        if not entries:
            raise route.error("route needs at least one destination")
        out: list[tuple[Backend, Node]] = []
        for entry in entries:
            if not entry["destination"].present:
                raise entry.error("a route entry needs a destination")
            target = self.target(entry["destination"])
            weight = entry["weight"].integer(0, minimum=0)
            set_headers, remove = header_operations(entry["headers"], self.diagnostics)
            out.append((Backend(target.service, target.subset, weight, target.port,
                                set_headers, remove), entry))
        if len(out) == 1:
            backend, entry = out[0]
            if entry["weight"].present and backend.weight != 100:
                self.diagnostics.warn(
                    entry["weight"],
                    f"weight {backend.weight} has no effect: a single destination takes all "
                    "traffic (Istio's processDestination ignores its weight)",
                    code="weights",
                )
            return [(Backend(backend.service, backend.subset, 100, backend.port,
                             backend.set_headers, backend.remove_headers), entry)]
        total = sum(b.weight for b, _ in out)
        if total == 0:
            raise route.error("the destinations' weights add up to 0 (set at least one weight)")
        if not self.profile.weights_any_sum and total != 100:
            raise route.error(
                f"the destinations' weights add up to {total}; Istio {self.profile.version} "
                "requires 100 (any total is accepted from 1.15)"
            )
        kept = [(b, e) for b, e in out if b.weight > 0]
        if total != 100:
            shares = ", ".join(f"{_label(b)} {100 * b.weight / total:.4g}%" for b, _ in kept)
            self.diagnostics.warn(
                route,
                f"the destinations' weights add up to {total}, not 100: Istio "
                f"{self.profile.version} accepts this and Envoy splits by weight/total, so "
                f"{shares}",
                code="weights",
            )
        return kept


def _label(backend: Backend) -> str:
    return backend.service + (f"/{backend.subset}" if backend.subset else "")


def header_operations(headers: Node, diagnostics: Diagnostics) -> tuple[dict[str, str],
                                                                         tuple[str, ...]]:
    """``headers.request`` ``set``/``add`` (both become set values) and ``remove``."""
    request = headers["request"]
    values: dict[str, str] = {}
    for kind in ("set", "add"):
        for name, value in request[kind].entries():
            if name.lower() in INTERNAL_HEADERS or name.startswith(":"):
                diagnostics.warn(
                    value,
                    f"rewriting {name} is not modelled (Istio turns it into a host rewrite)",
                )
                continue
            values[name.lower()] = value.string()
    remove = tuple(
        n.lower() for n in request["remove"].strings()
        if n.lower() not in INTERNAL_HEADERS and not n.startswith(":")
    )
    return values, remove


def _reference(node: Node, what: str) -> str:
    """istioctl's name for a referenced host: a mirror's is a "mirror host"."""
    mirrored = any(isinstance(step, str) and step.startswith("mirror") for step in node.path)
    return f"mirror {what}" if mirrored else what
