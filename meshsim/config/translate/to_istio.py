"""Linkerd manifests → Istio manifests (mesh-cost.md §4, read right to left).

ServiceProfile routes, HTTPRoutes and TrafficSplits become VirtualServices; retry annotations
and ``isRetryable`` become ``retries``, a retry budget a DestinationRule ``retryBudget`` (Istio
1.27+), failure accrual ``outlierDetection``; a Server with its authorizations becomes an ALLOW
AuthorizationPolicy, ``all-authenticated`` STRICT PeerAuthentication.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from meshsim.config.manifests import Manifest
from meshsim.config.translate.common import Doc, meta, namespace_of, short_host, spec_of
from meshsim.config.translate.notes import Notes

VS_API = "networking.istio.io/v1"
SEC_API = "security.istio.io/v1"
ACCRUAL = "balancer.linkerd.io/failure-accrual"
# Linkerd legacy (ServiceProfile) retries have no count cap, only the budget; Envoy needs one.
PROFILE_ATTEMPTS = 3
PATH_TYPES = {"PathPrefix": "prefix", "Exact": "exact", "RegularExpression": "regex"}


class ToIstio:
    """One scenario's Linkerd manifests translated to Istio's."""

    def __init__(self, manifests: list[Manifest], notes: Notes) -> None:
        self.manifests = manifests
        self.notes = notes
        self.out: list[Doc] = []
        self.rules: dict[tuple[str, str], Doc] = {}  # (host, namespace) -> DR trafficPolicy
        self.servers: dict[str, tuple[Manifest, Doc]] = {}  # Server name -> (manifest, policy)
        self.auth: dict[str, Manifest] = {}  # authentication name -> manifest

    def translate(self, namespaces: set[str]) -> list[Doc]:
        ordered = sorted(self.manifests, key=lambda m: m.kind not in (
            "Server", "MeshTLSAuthentication", "NetworkAuthentication"))
        for manifest in ordered:
            handler = getattr(self, f"_{manifest.kind}", None)
            if manifest.family == "rollout":
                self.notes.lost(manifest, (), "progressive-delivery controllers are not "
                                "translated: the rollout does not run in the translation")
            elif handler is None:
                self.notes.lost(manifest, (), f"{manifest.kind} has no Istio equivalent")
            else:
                handler(manifest)
        for (host, namespace), policy in sorted(self.rules.items()):
            self.out.append({"apiVersion": VS_API, "kind": "DestinationRule",
                             "metadata": meta(host, namespace),
                             "spec": {"host": host, "trafficPolicy": policy}})
        for _, (_, policy) in sorted(self.servers.items()):
            self.out.append(policy)
        return self.out

    # -- routes ------------------------------------------------------------------------------
    def _virtual_service(self, name: str, namespace: str, host: str,
                         http: list[Doc]) -> None:
        self.out.append({"apiVersion": VS_API, "kind": "VirtualService",
                         "metadata": meta(name, namespace),
                         "spec": {"hosts": [host], "http": http}})

    def _ServiceProfile(self, manifest: Manifest) -> None:
        spec = spec_of(manifest)
        host = short_host(manifest.name)
        namespace = namespace_of(manifest.name, manifest.namespace)
        budget = spec.get("retryBudget")
        http: list[Doc] = []
        for i, route in enumerate(spec.get("routes", [])):
            route = dict(route)
            path = ("spec", "routes", i)
            entry: Doc = {"name": str(route.get("name", f"route-{i}"))}
            match = self._condition(manifest, (*path, "condition"),
                                    dict(route.get("condition", {})))
            if match:
                entry["match"] = [match]
            entry["route"] = [{"destination": {"host": host}}]
            if "timeout" in route:
                entry["timeout"] = str(route["timeout"])
            if route.get("isRetryable"):
                entry["retries"] = {"attempts": PROFILE_ATTEMPTS, "retryOn": "5xx"}
                self.notes.approx(manifest, (*path, "isRetryable"), "Linkerd's profile retries "
                                  f"have no count cap, only the budget: attempts "
                                  f"{PROFILE_ATTEMPTS} caps them in Envoy")
            else:
                entry["retries"] = {"attempts": 0}
            if "responseClasses" in route:
                self.notes.lost(manifest, (*path, "responseClasses"), "Envoy classifies "
                                "failures by retryOn only")
            http.append(entry)
        http.append({"route": [{"destination": {"host": host}}], "retries": {"attempts": 0}})
        self._virtual_service(host, namespace, host, http)
        if isinstance(budget, dict):
            self._budget(manifest, host, namespace, dict(budget))
        for key in ("dstOverrides", "opaquePorts"):
            if key in spec:
                self.notes.lost(manifest, ("spec", key), "not translated")

    def _budget(self, manifest: Manifest, host: str, namespace: str, budget: Doc) -> None:
        path = ("spec", "retryBudget")
        ratio = float(budget.get("retryRatio", 0.2))
        policy = self.rules.setdefault((host, namespace), {})
        policy["retryBudget"] = {
            "percent": round(ratio * 100, 4),
            "minRetryConcurrency": int(budget.get("minRetriesPerSecond", 10)),
        }
        self.notes.approx(manifest, (*path, "retryRatio"), "percent = retryRatio x 100, but "
                          "Envoy's budget limits concurrent retries, Linkerd's their rate")
        self.notes.approx(manifest, (*path, "minRetriesPerSecond"), "→ minRetryConcurrency "
                          "(a rate becomes a concurrency)")
        if "ttl" in budget:
            self.notes.lost(manifest, (*path, "ttl"), "Envoy's budget has no window")

    def _condition(self, manifest: Manifest, path: tuple[Any, ...], cond: Doc) -> Doc:
        out: Doc = {}
        if "method" in cond:
            out["method"] = {"exact": str(cond["method"])}
        if "pathRegex" in cond:
            out["uri"] = {"regex": str(cond["pathRegex"])}
        for key in cond:
            if key not in ("method", "pathRegex"):
                self.notes.lost(manifest, (*path, key), "all/any/not conditions have no "
                                "VirtualService match")
        return out

    def _TrafficSplit(self, manifest: Manifest) -> None:
        spec = spec_of(manifest)
        apex = short_host(spec.get("service", manifest.name))
        weights = [(short_host(b.get("service", "")), _quantity(b.get("weight", 1)))
                   for b in spec.get("backends", [])]
        total = sum(w for _, w in weights) or 1.0
        route = [{"destination": {"host": name}, "weight": round(100 * w / total)}
                 for name, w in weights]
        self._virtual_service(manifest.name, manifest.namespace, apex,
                              [{"route": route, "retries": {"attempts": 0}}])
        self.notes.approx(manifest, ("spec", "backends"), "weights as integer percent")

    def _HTTPRoute(self, manifest: Manifest) -> None:
        spec = spec_of(manifest)
        parents = list(spec.get("parentRefs", []))
        if not parents:
            return
        hosts = self._parent_hosts(manifest, parents)
        if not hosts:
            return
        host = SELF  # a rule without backendRefs routes to each parent itself
        annotations = dict(dict(manifest.data.get("metadata", {})).get("annotations") or {})
        retries = self._retries(manifest, annotations)
        http: list[Doc] = []
        for i, rule in enumerate(spec.get("rules", [])):
            rule = dict(rule)
            path = ("spec", "rules", i)
            entry: Doc = {}
            matches = [self._match(manifest, (*path, "matches", j), dict(m))
                       for j, m in enumerate(rule.get("matches", []))]
            if matches:
                entry["match"] = matches
            refs = list(rule.get("backendRefs", [])) or [{"name": host}]
            entry["route"] = [{"destination": {"host": short_host(r.get("name", host))},
                               **({"weight": int(r.get("weight", 1))} if len(refs) > 1 else {})}
                              for r in refs]
            timeouts = dict(rule.get("timeouts", {}))
            if "request" in timeouts:
                entry["timeout"] = str(timeouts["request"])
            if "backendRequest" in timeouts:
                self.notes.lost(manifest, (*path, "timeouts", "backendRequest"),
                                "ignored by Linkerd since 2.16; not translated")
            entry["retries"] = retries
            if "filters" in rule:
                self.notes.lost(manifest, (*path, "filters"), "header modifiers and redirects: "
                                "not translated")
            http.append(entry)
        for parent in hosts:
            name = manifest.name if len(hosts) == 1 else f"{manifest.name}-{short_host(parent)}"
            self._virtual_service(name, manifest.namespace, parent, _to_self(http, parent))

    def _parent_hosts(self, manifest: Manifest, parents: list[Any]) -> list[str]:
        """The Istio host of each Service parent (one VirtualService each: Istio needs a
        destination per route, and a Linkerd rule without backends goes to its parent)."""
        hosts: list[str] = []
        for i, ref in enumerate(dict(p) for p in parents):
            if ref.get("kind", "Service") == "Server":
                self.notes.lost(manifest, ("spec", "parentRefs", i), "an inbound route on a "
                                "Server (authorization by method/path) is not translated")
                continue
            name = short_host(ref.get("name", ""))
            namespace = str(ref.get("namespace", manifest.namespace))
            hosts.append(name if namespace == manifest.namespace
                         else f"{name}.{namespace}.svc.cluster.local")
        return hosts

    def _match(self, manifest: Manifest, path: tuple[Any, ...], match: Doc) -> Doc:
        out: Doc = {}
        p = match.get("path")
        if isinstance(p, dict):
            out["uri"] = {PATH_TYPES.get(str(p.get("type", "PathPrefix")), "prefix"):
                          str(p.get("value", "/"))}
        headers = {}
        for h in match.get("headers", []):
            kind = "regex" if h.get("type") == "RegularExpression" else "exact"
            headers[str(h["name"])] = {kind: str(h["value"])}
        if headers:
            out["headers"] = headers
        if "method" in match:
            out["method"] = {"exact": str(match["method"])}
        if "queryParams" in match:
            out["queryParams"] = {str(q["name"]): {"exact": str(q["value"])}
                                  for q in match["queryParams"]}
        return out

    def _retries(self, manifest: Manifest, annotations: dict[str, Any]) -> Doc:
        """``retry.linkerd.io/*`` (on an HTTPRoute or a Service) → VirtualService retries."""
        path = ("metadata", "annotations")
        if "retry.linkerd.io/http" not in annotations and \
                "retry.linkerd.io/grpc" not in annotations:
            return {"attempts": 0}  # Linkerd retries nothing unless annotated
        conditions = []
        for cond in str(annotations.get("retry.linkerd.io/http", "")).split(","):
            cond = cond.strip()
            if re.fullmatch(r"\d{3}-\d{3}", cond):
                low, high = (int(x) for x in cond.split("-"))
                conditions += [str(c) for c in range(low, high + 1)] if high - low < 10 \
                    else ["5xx"]
                self.notes.approx(manifest, (*path, "retry.linkerd.io/http"),
                                  f"range {cond} → status codes (5xx if wider than 10)")
            elif cond:
                conditions.append(cond)
        conditions += [c.strip() for c in str(annotations.get("retry.linkerd.io/grpc", ""))
                       .split(",") if c.strip()]
        out: Doc = {"attempts": int(annotations.get("retry.linkerd.io/limit", 1)),
                    "retryOn": ",".join(conditions)}
        if "retry.linkerd.io/timeout" in annotations:
            out["perTryTimeout"] = str(annotations["retry.linkerd.io/timeout"])
        self.notes.approx(manifest, path, "Envoy retries stay in the weighted destination "
                          "chosen first; Linkerd's re-enter the backend split")
        return out

    # -- Services and Namespaces -------------------------------------------------------------
    def _Service(self, manifest: Manifest) -> None:
        annotations = dict(dict(manifest.data.get("metadata", {})).get("annotations") or {})
        path = ("metadata", "annotations")
        host, namespace = manifest.name, manifest.namespace
        if any(k.startswith("retry.linkerd.io/") or k.startswith("timeout.linkerd.io/")
               for k in annotations):
            entry: Doc = {"route": [{"destination": {"host": host}}],
                          "retries": self._retries(manifest, annotations)}
            if "timeout.linkerd.io/request" in annotations:
                entry["timeout"] = str(annotations["timeout.linkerd.io/request"])
            if "timeout.linkerd.io/idle" in annotations:
                self.notes.lost(manifest, (*path, "timeout.linkerd.io/idle"),
                                "no VirtualService idle timeout")
            self._virtual_service(f"{host}-service", namespace, host, [entry])
        if annotations.get(ACCRUAL) == "consecutive":
            failures = int(annotations.get(f"{ACCRUAL}-consecutive-max-failures", 7))
            penalty = str(annotations.get(f"{ACCRUAL}-consecutive-min-penalty", "1s"))
            self.rules.setdefault((host, namespace), {})["outlierDetection"] = {
                "consecutive5xxErrors": failures, "interval": "1s",
                "baseEjectionTime": penalty, "maxEjectionPercent": 100,
            }
            self.notes.approx(manifest, (*path, ACCRUAL), "→ outlierDetection: Envoy sweeps "
                              "every interval (1 s here), Linkerd ejects at once; "
                              "maxEjectionPercent 100 (Linkerd has no cap)")
            for key in ("max-penalty", "jitter-ratio"):
                full = f"{ACCRUAL}-consecutive-{key}"
                if full in annotations:
                    self.notes.lost(manifest, (*path, full), "Envoy's ejection time grows "
                                    "with the ejection count, capped at 300 s")

    def _Namespace(self, manifest: Manifest) -> None:
        annotations = dict(dict(manifest.data.get("metadata", {})).get("annotations") or {})
        path = ("metadata", "annotations")
        inject = annotations.get("linkerd.io/inject")
        labels = {"istio-injection": "enabled" if inject in ("enabled", "ingress") else
                  "disabled"}
        self.out.append({"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": manifest.name, "labels": labels}})
        policy = annotations.get("config.linkerd.io/default-inbound-policy")
        if policy in ("all-authenticated", "cluster-authenticated"):
            self.out.append({"apiVersion": SEC_API, "kind": "PeerAuthentication",
                             "metadata": meta("default", manifest.name),
                             "spec": {"mtls": {"mode": "STRICT"}}})
            if policy == "cluster-authenticated":
                self.notes.approx(manifest, (*path, "config.linkerd.io/default-inbound-policy"),
                                  "cluster-authenticated → STRICT (any meshed identity)")
        elif policy == "deny":
            self.out.append({"apiVersion": SEC_API, "kind": "AuthorizationPolicy",
                             "metadata": meta("allow-nothing", manifest.name), "spec": {}})
        elif policy is not None and policy != "all-unauthenticated":
            self.notes.lost(manifest, (*path, "config.linkerd.io/default-inbound-policy"),
                            f"{policy}: no Istio equivalent")

    # -- authorization -----------------------------------------------------------------------
    def _Server(self, manifest: Manifest) -> None:
        spec = spec_of(manifest)
        selector = dict(spec.get("podSelector", {}))
        if "matchExpressions" in selector:
            self.notes.lost(manifest, ("spec", "podSelector", "matchExpressions"),
                            "not translated")
        policy = {"apiVersion": SEC_API, "kind": "AuthorizationPolicy",
                  "metadata": meta(manifest.name, manifest.namespace),
                  "spec": {"selector": {"matchLabels": dict(selector.get("matchLabels", {}))},
                           "action": "ALLOW", "rules": []}}
        self.servers[manifest.name] = (manifest, policy)
        if "accessPolicy" in spec and spec["accessPolicy"] != "deny":
            self.notes.lost(manifest, ("spec", "accessPolicy"), "only deny translates")

    def _MeshTLSAuthentication(self, manifest: Manifest) -> None:
        self.auth[manifest.name] = manifest

    def _NetworkAuthentication(self, manifest: Manifest) -> None:
        self.auth[manifest.name] = manifest

    def _rule_from(self, manifest: Manifest, refs: list[Doc]) -> Doc | None:
        source: Doc = {}
        for r, ref in enumerate(refs):
            auth = self.auth.get(str(ref.get("name")))
            kind = ref.get("kind")
            if kind == "ServiceAccount":
                source.setdefault("principals", []).append(
                    f"cluster.local/ns/{ref.get('namespace', manifest.namespace)}/sa/"
                    f"{ref['name']}")
            elif auth is None:
                self.notes.lost(manifest, ("spec", "requiredAuthenticationRefs", r),
                                f"{ref.get('name')!r} is not in the scenario")
            elif auth.kind == "MeshTLSAuthentication":
                source.setdefault("principals", []).extend(_principals(spec_of(auth)))
            else:
                source.setdefault("ipBlocks", []).extend(
                    str(n["cidr"]) for n in spec_of(auth).get("networks", []))
        return {"from": [{"source": source}]} if source else {}

    def _AuthorizationPolicy(self, manifest: Manifest) -> None:
        spec = spec_of(manifest)
        target = dict(spec.get("targetRef", {}))
        server = self.servers.get(str(target.get("name")))
        if target.get("kind") != "Server" or server is None:
            self.notes.lost(manifest, ("spec", "targetRef"), "only policies on a Server "
                            "translate (route- and namespace-level ones do not)")
            return
        rule = self._rule_from(manifest, list(spec.get("requiredAuthenticationRefs", [])))
        if rule is not None:
            server[1]["spec"]["rules"].append(rule)

    def _ServerAuthorization(self, manifest: Manifest) -> None:
        spec = spec_of(manifest)
        server = self.servers.get(str(dict(spec.get("server", {})).get("name")))
        if server is None:
            self.notes.lost(manifest, ("spec", "server"), "only a Server named in the "
                            "scenario translates (not selectors)")
            return
        client = dict(spec.get("client", {}))
        source: Doc = {}
        mesh_tls = client.get("meshTLS")
        if isinstance(mesh_tls, dict):
            source["principals"] = _principals(
                {"identityRefs": [{"kind": "ServiceAccount", **sa}
                                  for sa in mesh_tls.get("serviceAccounts", [])],
                 "identities": mesh_tls.get("identities", [])})
        if client.get("networks"):
            source["ipBlocks"] = [str(n["cidr"]) for n in client["networks"]]
        if client.get("unauthenticated") and not client.get("networks"):
            self.notes.approx(manifest, ("spec", "client", "unauthenticated"),
                              "any client, from cluster networks: no from clause")
        server[1]["spec"]["rules"].append({"from": [{"source": source}]} if source else {})


def _principals(spec: Doc) -> list[str]:
    out = []
    for ref in spec.get("identityRefs", []):
        if ref.get("kind") == "ServiceAccount":
            out.append(f"cluster.local/ns/{ref.get('namespace', 'default')}/sa/{ref['name']}")
        else:
            out.append("*")
    for identity in spec.get("identities", []):
        parts = str(identity).split(".")
        out.append("*" if parts[0] == "*" or len(parts) < 2 else
                   f"cluster.local/ns/{parts[1]}/sa/{parts[0]}")
    return out


def _quantity(value: Any) -> float:
    """SMI weights: ``900m`` = 0.9, ``1`` = 1."""
    text = str(value)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


SELF = "\0self"  # stands for "the parent Service" until each parent's VirtualService is written


def _to_self(http: list[Doc], host: str) -> list[Doc]:
    """``http`` with the routes written to :data:`SELF` sent to ``host``."""
    out = copy.deepcopy(http)
    for entry in out:
        for route in entry.get("route", []):
            if route["destination"]["host"] == SELF:
                route["destination"]["host"] = host
    return out
