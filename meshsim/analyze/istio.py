"""istioctl analyze's own checks, over the manifests as written (IST codes).

Rule and match numbering, and what counts as a duplicate match, follow istioctl's
``virtualservice/conditions.go`` (``analyzeUnreachableHTTPRules``): rules are ``#n`` from 0 or
their quoted ``name``; a match equal to one of an earlier rule (its ``name`` aside) is
ineffective, and a rule all of whose matches are is unreachable. meshsim also reports a rule
after a catch-all rule, which istioctl only does when that rule is a catch-all too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from meshsim.analyze import messages as msg
from meshsim.analyze.messages import Finding, finding
from meshsim.analyze.resources import of_manifest
from meshsim.config import Manifest
from meshsim.config.manifest.hosts import HostIndex, is_wildcard
from meshsim.errors import ConfigWarning
from meshsim.model import Model

MESH = "mesh"


def check(model: Model, manifests: Sequence[Manifest],
          warnings: Sequence[ConfigWarning]) -> list[Finding]:
    virtual_services = [m for m in manifests if m.kind == "VirtualService"]
    rules = [m for m in manifests if m.kind == "DestinationRule"]
    index = HostIndex(model.topology)
    return [
        *(f for m in virtual_services for f in unreachable_rules(m)),
        *conflicting_mesh_hosts(virtual_services, index),
        *(f for m in rules for f in subsets_without_pods(m, model, index)),
        *(f for m in manifests for f in selects_no_workload(m, model)),
        *from_warnings(manifests, warnings),
    ]


# -- IST0130 / IST0131 ---------------------------------------------------------------------------
def unreachable_rules(manifest: Manifest) -> Iterator[Finding]:
    http = _list(_spec(manifest).get("http"))
    seen: dict[str, int] = {}
    catch_all = -1
    for n, rule in enumerate(http):
        where = of_manifest(manifest, ("spec", "http", n))
        matches = _list(rule.get("match"))
        if not matches:
            if catch_all >= 0:
                yield finding(msg.VirtualServiceUnreachableRule, where, _rule_name(rule, n),
                              "only the last rule can have no matches")
            catch_all = n
            continue
        if catch_all >= 0:
            yield finding(msg.VirtualServiceUnreachableRule, where, _rule_name(rule, n),
                          f"rule {_rule_name(http[catch_all], catch_all)} before it has no "
                          "matches and takes every request")
            continue
        duplicates = 0
        for m, match in enumerate(matches):
            key = _match_key(match)
            if key in seen:
                duplicates += 1
                yield finding(msg.VirtualServiceIneffectiveMatch,
                              of_manifest(manifest, ("spec", "http", n, "match", m)),
                              _rule_name(rule, n), _match_name(match, m),
                              _rule_name(http[seen[key]], seen[key]))
            else:
                seen[key] = n
        if duplicates == len(matches):
            yield finding(msg.VirtualServiceUnreachableRule, where, _rule_name(rule, n),
                          "all matches used by prior rules")


def _rule_name(rule: dict[str, Any], n: int) -> str:
    name = rule.get("name")
    return f'"{name}"' if name else f"#{n}"


def _match_name(match: dict[str, Any], n: int) -> str:
    name = match.get("name")
    return f'"{name}"' if name else f"#{n}"


def _match_key(match: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in match.items() if k != "name"}, sort_keys=True,
                      default=str)


# -- IST0109 -------------------------------------------------------------------------------------
def conflicting_mesh_hosts(virtual_services: Sequence[Manifest],
                           index: HostIndex) -> Iterator[Finding]:
    """Two VirtualServices bound to the sidecars (``mesh``) claim the same host."""
    by_host: dict[str, list[Manifest]] = {}
    for manifest in virtual_services:
        spec = _spec(manifest)
        gateways = spec.get("gateways") or [MESH]
        if MESH not in gateways:
            continue
        for host in spec.get("hosts") or []:
            if isinstance(host, str) and not is_wildcard(host):
                fqdn = index.qualify(host, manifest.namespace)
                by_host.setdefault(fqdn, []).append(manifest)
    for host, owners in by_host.items():
        owners = list({id(m): m for m in owners}.values())
        if len(owners) < 2:
            continue
        names = ",".join(f"{m.namespace or 'default'}/{m.name}" for m in owners)
        for manifest in owners:
            yield finding(msg.ConflictingMeshGatewayVirtualServiceHosts, of_manifest(manifest),
                          names, host)


# -- IST0173 -------------------------------------------------------------------------------------
def subsets_without_pods(manifest: Manifest, model: Model, index: HostIndex) -> Iterator[Finding]:
    spec = _spec(manifest)
    host = spec.get("host")
    if not isinstance(host, str) or is_wildcard(host):
        return
    resolved = index.resolve(host, manifest.namespace)
    service = model.topology.services.get(resolved.service) if resolved else None
    if service is None or service.external:
        return
    for i, subset in enumerate(_list(spec.get("subsets"))):
        labels = subset.get("labels") or {}
        if not isinstance(labels, dict):
            continue
        wanted = {str(k): str(v) for k, v in labels.items()}
        if not any(all(d.labels.get(k) == v for k, v in wanted.items())
                   for d in service.deployments):
            yield finding(msg.DestinationRuleSubsetNotSelectPods,
                          of_manifest(manifest, ("spec", "subsets", i)), subset.get("name", ""))


# -- IST0127 -------------------------------------------------------------------------------------
SELECTING = ("AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication", "Sidecar",
             "Telemetry", "EnvoyFilter", "WasmPlugin")
ROOT_NAMESPACE = "istio-system"  # a policy there selects workloads in every namespace


def selects_no_workload(manifest: Manifest, model: Model) -> Iterator[Finding]:
    """A policy whose ``selector`` / ``workloadSelector`` labels match no pod has no effect."""
    if manifest.kind not in SELECTING or manifest.family != "istio":
        return
    spec = _spec(manifest)
    key = "workloadSelector" if manifest.kind == "Sidecar" else "selector"
    selector = spec.get(key)
    labels = selector.get("matchLabels" if key == "selector" else "labels") if isinstance(
        selector, dict) else None
    if not isinstance(labels, dict) or not labels:
        return
    wanted = {str(k): str(v) for k, v in labels.items()}
    namespace = manifest.namespace or "default"
    for service in model.topology.services.values():
        if namespace not in (ROOT_NAMESPACE, service.namespace):
            continue
        if any(all(d.labels.get(k) == v for k, v in wanted.items())
               for d in service.deployments):
            return
    text = ",".join(f"{k}={v}" for k, v in sorted(wanted.items()))
    yield finding(msg.NoMatchingWorkloadsFound, of_manifest(manifest, ("spec", key)), text)


# -- the translator's own warnings that are an istioctl check ------------------------------------
_NOT_IN_GATEWAY = re.compile(r"host '([^']*)' matches no server host of Gateway (\S+)")
_DR_HOST = re.compile(r"host '([^']*)' matches no service$")


def from_warnings(manifests: Sequence[Manifest],
                  warnings: Sequence[ConfigWarning]) -> Iterator[Finding]:
    """IST0132 and IST0174 (wildcard hosts) are found while translating; report them."""
    for warning in warnings:
        manifest = _manifest_at(manifests, warning)
        if manifest is None:
            continue
        where = of_manifest(manifest)
        where = type(where)(where.kind, where.name, where.namespace, warning.location.file,
                            warning.location.line)
        if (found := _NOT_IN_GATEWAY.search(warning.message)) and manifest.kind == "VirtualService":
            namespace, _, name = found.group(2).rpartition("/")
            gateway = f"{name}.{namespace}" if namespace else name  # istioctl: name.namespace
            yield finding(msg.VirtualServiceHostNotFoundInGateway, where, f"[{found.group(1)}]",
                          f"{manifest.name}.{manifest.namespace or 'default'}", gateway)
        elif (found := _DR_HOST.search(warning.message)) and manifest.kind == "DestinationRule":
            yield finding(msg.UnknownDestinationRuleHost, where, found.group(1))


def _manifest_at(manifests: Sequence[Manifest], warning: ConfigWarning) -> Manifest | None:
    key = warning.location.path.split(" ", 1)[0]
    return next((m for m in manifests
                 if m.key == key and m.file == warning.location.file), None)


def _spec(manifest: Manifest) -> dict[str, Any]:
    spec = manifest.data.get("spec")
    return spec if isinstance(spec, dict) else {}


def _list(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
