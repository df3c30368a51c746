"""Host names in manifests → scenario services.

Istio resolves a name without dots relative to the manifest's namespace
(``pkg/config/model.go`` ``ResolveShortnameToFQDN``: ``reviews`` in namespace ``prod`` →
``reviews.prod.svc.cluster.local``) and takes any dotted name as written. meshsim also accepts
the Kubernetes DNS forms ``reviews.prod`` and ``reviews.prod.svc``, as DESIGN §2 promises, but
says that Istio itself would not expand them. ServiceEntry hosts match as written, and wildcards
(``*.example.com``, ``*``) follow ``pkg/config/host`` ``Name.Matches``: ``*.example.com`` matches
any name ending in ``.example.com``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from meshsim.model.topology import Topology

T = TypeVar("T")

DOMAIN = "svc.cluster.local"


@dataclass(frozen=True)
class Resolved:
    """What a written host names: a service, by the FQDN Istio would use."""

    service: str
    fqdn: str
    kubernetes_form: bool = False  # written as name.namespace[.svc]; Istio would not expand it


def is_wildcard(host: str) -> bool:
    return host == "*" or host.startswith("*.")


def wildcard_matches(pattern: str, host: str) -> bool:
    """Istio ``host.Name.Matches``: does ``pattern`` (maybe a wildcard) cover ``host``?"""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        if is_wildcard(host):
            return host == pattern or (host != "*" and host[1:].endswith(pattern[1:]))
        return host.endswith(pattern[1:])
    return pattern == host


def domain_precedence(host: str) -> tuple[int, int]:
    """Envoy's virtual-host search order: exact names, then suffix wildcards longest first,
    then ``*`` (``RouteMatcher::findVirtualHost``)."""
    if host == "*":
        return (2, 0)
    if is_wildcard(host):
        return (1, -len(host))
    return (0, 0)


def by_domain_precedence(hosts: Mapping[str, Sequence[T]]) -> dict[str, tuple[T, ...]]:
    """``hosts`` re-ordered so that the first pattern covering a name is the one Envoy picks
    (stable for equal precedence)."""
    order = sorted(hosts, key=domain_precedence)
    return {h: tuple(hosts[h]) for h in order}


def intersect(a: str, b: str) -> str | None:
    """The more specific of two host patterns when one covers the other, else None."""
    if wildcard_matches(a, b):
        return b
    if wildcard_matches(b, a):
        return a
    return None


class HostIndex:
    """Every name a manifest may use for a service: Kubernetes FQDNs and ServiceEntry hosts."""

    def __init__(self, topology: Topology, entry_hosts: Mapping[str, str] | None = None) -> None:
        self.fqdns = {
            f"{s.name}.{s.namespace}.{DOMAIN}": name for name, s in topology.services.items()
        }
        self.namespaces = {name: s.namespace for name, s in topology.services.items()}
        self.entry_hosts = dict(entry_hosts or {})  # ServiceEntry host → service

    def qualify(self, host: str, namespace: str) -> str:
        """Istio's FQDN for ``host`` written in ``namespace`` (only dot-less names change)."""
        if host == "*" or "." in host:
            return host
        return f"{host}.{namespace or 'default'}.{DOMAIN}"

    def resolve(self, host: str, namespace: str) -> Resolved | None:
        """The service ``host`` names (not for wildcards), or None."""
        fqdn = self.qualify(host, namespace)
        if fqdn in self.entry_hosts:
            return Resolved(self.entry_hosts[fqdn], fqdn)
        if host in self.entry_hosts:
            return Resolved(self.entry_hosts[host], host)
        covering = [p for p in self.entry_hosts if is_wildcard(p) and wildcard_matches(p, host)]
        if covering:  # the most specific wildcard ServiceEntry host (MostSpecificHostMatch)
            return Resolved(self.entry_hosts[max(covering, key=len)], host)
        if fqdn in self.fqdns:
            return Resolved(self.fqdns[fqdn], fqdn)
        parts = host.split(".")
        if len(parts) in (2, 3) and (len(parts) == 2 or parts[2] == "svc"):
            expanded = f"{parts[0]}.{parts[1]}.{DOMAIN}"
            if expanded in self.fqdns:
                return Resolved(self.fqdns[expanded], expanded, kubernetes_form=True)
        return None

    def matching(self, pattern: str, namespace: str) -> list[Resolved]:
        """Services a (wildcard) host covers, in topology order."""
        if not is_wildcard(pattern):
            found = self.resolve(pattern, namespace)
            return [found] if found else []
        out = [Resolved(s, f) for f, s in self.fqdns.items() if wildcard_matches(pattern, f)]
        out += [Resolved(s, h) for h, s in self.entry_hosts.items() if wildcard_matches(pattern, h)]
        return out

    def suggestion(self, host: str) -> str:
        """``"; did you mean 'reviews.prod'?"`` when a service of that short name exists."""
        short = host.split(".")[0]
        if short in self.namespaces:
            return f"; did you mean '{short}.{self.namespaces[short]}.{DOMAIN}'?"
        return ""

    def names(self) -> Iterable[str]:
        return [*self.fqdns, *self.entry_hosts]
