"""Istio manifests → Linkerd manifests (mesh-cost.md §4, read left to right).

VirtualService routes become HTTPRoutes (policy.linkerd.io/v1beta3, the 2.16+ route path: one
per ``http[]`` entry, because Linkerd's retry annotations hold for a whole HTTPRoute), retries
become ``retry.linkerd.io/*`` annotations, outlier detection becomes failure accrual on the
Service, ALLOW policies become a Server with an AuthorizationPolicy and MeshTLSAuthentication,
STRICT mTLS the ``all-authenticated`` default inbound policy. Subsets split by weight become one
Service per version (Linkerd has none); :mod:`.scenario` rewrites the services to match.
"""

from __future__ import annotations

from typing import Any

from meshsim.config.manifest.hosts import is_wildcard
from meshsim.config.manifests import Manifest
from meshsim.config.translate.common import (
    SERVICE_PORT,
    Doc,
    meta,
    namespace_of,
    short_host,
    spec_of,
    subset_service,
)
from meshsim.config.translate.notes import Notes
from meshsim.config.translate.rule_hosts import RuleHosts, RuleTarget

HTTPROUTE_API = "policy.linkerd.io/v1beta3"
POLICY_API = "policy.linkerd.io/v1alpha1"
SERVER_API = "policy.linkerd.io/v1beta3"
# Istio retryOn → Linkerd retry.linkerd.io/http conditions (None: nothing close).
RETRY_ON = {
    "5xx": "5xx", "gateway-error": "gateway-error", "connect-failure": "gateway-error",
    "refused-stream": None, "reset": "gateway-error", "retriable-4xx": "409",
    "unavailable": None, "cancelled": None, "deadline-exceeded": None, "internal": None,
    "resource-exhausted": None, "retriable-status-codes": None,
}
GRPC_ON = ("cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable")
VS_LOST = {
    "fault": "Linkerd has no fault injection (emulate an abort with an error-injector "
             "backend; delays cannot be)",
    "mirror": "Linkerd has no mirroring", "mirrorPercentage": "Linkerd has no mirroring",
    "mirrors": "Linkerd has no mirroring",
    "rewrite": "not translated (HTTPRoute URLRewrite is not modelled)",
    "redirect": "not translated", "directResponse": "not translated",
    "corsPolicy": "not translated", "headers": "not translated (header modifiers)",
    "delegate": "delegation has no Linkerd equivalent",
}
DR_LOST = {
    "connectionPool": "Linkerd has no connection-pool circuit breaker (its balancer queue "
                      "and 3 s failfast are the nearest behaviour)",
    "retryBudget": "the 2.16+ HTTPRoute path has no retry budget (only a ServiceProfile has "
                   "one, and a ServiceProfile with routes disables the annotations)",
    "tls": "Linkerd's mTLS is automatic; client TLS settings do not translate",
    "portLevelSettings": "not translated", "tunnel": "not translated",
    "proxyProtocol": "not translated",
}


class ToLinkerd:
    """One scenario's Istio manifests translated; ``splits`` names the subsets that became
    Services (host → subsets) so the scenario's services can follow."""

    def __init__(self, manifests: list[Manifest], notes: Notes, rules: RuleHosts) -> None:
        self.manifests = manifests
        self.notes = notes
        self.rules = rules
        self.out: list[Doc] = []
        self.splits: dict[str, set[str]] = {}
        self.ingress: dict[str, str] = {}  # gateway-bound host -> the service it routes to
        self.service_annotations: dict[tuple[str, str], dict[str, str]] = {}
        self.namespace_policy: dict[str, str] = {}

    def translate(self, namespaces: set[str]) -> list[Doc]:
        for manifest in self.manifests:
            handler = getattr(self, f"_{manifest.kind}", None)
            if manifest.family == "kubernetes":
                self.out.append(dict(manifest.data))
            elif manifest.family == "rollout":
                self.notes.lost(manifest, (), "progressive-delivery controllers are not "
                                "translated: the rollout does not run in the translation")
            elif handler is None:
                self.notes.lost(manifest, (), f"{manifest.kind} has no Linkerd equivalent")
            else:
                handler(manifest, namespaces)
        for (name, namespace), added in sorted(self.service_annotations.items()):
            self._annotate_service(name, namespace, added)
        for namespace, policy in sorted(self.namespace_policy.items()):
            self.out.append({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": namespace, "annotations": {
                                 "linkerd.io/inject": "enabled",
                                 "config.linkerd.io/default-inbound-policy": policy}}})
        return self.out

    def _annotate_service(self, name: str, namespace: str, added: dict[str, str]) -> None:
        """Failure accrual goes on the Service: the scenario's own manifest if it has one."""
        for doc in self.out:
            md = doc.get("metadata", {})
            if doc.get("kind") == "Service" and md.get("name") == name and \
                    md.get("namespace", "default") == namespace:
                doc["metadata"] = {**md, "annotations": {**dict(md.get("annotations") or {}),
                                                         **added}}
                return
        self.out.append({"apiVersion": "v1", "kind": "Service",
                         "metadata": meta(name, namespace, added)})

    # -- VirtualService ----------------------------------------------------------------------
    def _VirtualService(self, manifest: Manifest, namespaces: set[str]) -> None:
        spec = spec_of(manifest)
        gateways = [g for g in spec.get("gateways", []) if g != "mesh"]
        if gateways:
            self.notes.approx(manifest, ("spec", "gateways"), "Linkerd has no ingress gateway: "
                              "workloads calling its hosts call the first destination directly")
            self._ingress(spec)
            return
        for key in ("tcp", "tls", "exportTo"):
            if key in spec:
                self.notes.lost(manifest, ("spec", key), "not translated (HTTP routes only)")
        hosts = [str(h) for h in spec.get("hosts", [])]
        if not hosts:
            return
        for extra, _ in enumerate(hosts[1:], start=1):
            self.notes.lost(manifest, ("spec", "hosts", extra), "an HTTPRoute has one parent "
                            "Service here; only the first host is translated")
        parents = self._parents(manifest, hosts[0])
        for index, http in enumerate(spec.get("http", [])):
            self._http(manifest, parents, index, dict(http))

    def _parents(self, manifest: Manifest, host: str) -> list[RuleTarget]:
        """The HTTPRoute's parent Services: the host's, or for a wildcard host every Service
        whose sidecar routes the loader takes from this VirtualService."""
        if not is_wildcard(host):
            return [RuleTarget(short_host(host), namespace_of(host, manifest.namespace))]
        targets = self.rules.routed(manifest, host)
        names = ", ".join(t.service for t in targets) or "none"
        self.notes.approx(manifest, ("spec", "hosts", 0), f"Linkerd has no wildcard host: "
                          f"{host!r} becomes a parentRef per service it routes ({names}; a "
                          "more specific VirtualService keeps its own services)")
        return targets

    def _ingress(self, spec: dict[str, Any]) -> None:
        for http in spec.get("http", []):
            for route in http.get("route", []):
                dest = short_host(dict(route.get("destination", {})).get("host", ""))
                for host in spec.get("hosts", []):
                    self.ingress.setdefault(str(host), dest)

    def _http(self, manifest: Manifest, parents: list[RuleTarget], index: int,
              http: dict[str, Any]) -> None:
        path = ("spec", "http", index)
        for key, why in VS_LOST.items():
            if key in http:
                self.notes.lost(manifest, (*path, key), why)
        rule: Doc = {}
        matches = [m for m in (self._match(manifest, (*path, "match", i), dict(m))
                               for i, m in enumerate(http.get("match", []))) if m is not None]
        if matches:
            rule["matches"] = matches
        if http.get("match"):
            self.notes.approx(manifest, (*path, "match"), "Istio takes the first matching "
                              "http[] entry; Gateway API ranks rules by match specificity")
        backends = []
        for r, route in enumerate(http.get("route", [])):
            dest = dict(route.get("destination", {}))
            host = short_host(dest.get("host", parents[0].service if parents else ""))
            subset = dest.get("subset")
            if subset:
                self.splits.setdefault(host, set()).add(str(subset))
                host = subset_service(host, str(subset))
            ref: Doc = {"name": host, "port": SERVICE_PORT}
            if "weight" in route:
                ref["weight"] = int(route["weight"])
            if "headers" in route:
                self.notes.lost(manifest, (*path, "route", r, "headers"), "not translated")
            backends.append(ref)
        if backends:
            rule["backendRefs"] = backends
        if "timeout" in http:
            rule["timeouts"] = {"request": str(http["timeout"])}
        annotations = self._retries(manifest, path, http.get("retries"))
        name = f"{manifest.name}-{index}" if len(manifest.data["spec"].get("http", [])) > 1 \
            else manifest.name
        if not parents:  # a wildcard that routes no service: nothing for Linkerd to attach
            return
        self.out.append({
            "apiVersion": HTTPROUTE_API, "kind": "HTTPRoute",
            "metadata": meta(name, manifest.namespace, annotations),
            # No parentRefs port: the route then covers every port of the Service, which is
            # what meshsim's one-port services mean (a port would only be warned about).
            "spec": {"parentRefs": [{"name": p.service, "namespace": p.namespace,
                                     "kind": "Service", "group": "core"}
                                    for p in parents],
                     "rules": [rule]},
        })

    def _match(self, manifest: Manifest, path: tuple[Any, ...],
               match: dict[str, Any]) -> Doc | None:
        out: Doc = {}
        uri = match.get("uri")
        if isinstance(uri, dict):
            for istio, gateway in (("prefix", "PathPrefix"), ("exact", "Exact"),
                                   ("regex", "RegularExpression")):
                if istio in uri:
                    out["path"] = {"type": gateway, "value": str(uri[istio])}
        headers = []
        for name, value in dict(match.get("headers", {})).items():
            kind = next(iter(value), "exact") if isinstance(value, dict) else "exact"
            if kind not in ("exact", "regex"):
                self.notes.lost(manifest, (*path, "headers", name), f"{kind} header match "
                                "has no HTTPRoute equivalent")
                continue
            headers.append({"name": name, "value": str(value[kind]),
                            "type": "Exact" if kind == "exact" else "RegularExpression"})
        if headers:
            out["headers"] = headers
        method = match.get("method")
        if isinstance(method, dict) and "exact" in method:
            out["method"] = str(method["exact"])
        for key in match:
            if key not in ("uri", "headers", "method", "name"):
                self.notes.lost(manifest, (*path, key), "no HTTPRoute match field for it")
        return out or None

    def _retries(self, manifest: Manifest, path: tuple[Any, ...],
                 retries: Any) -> dict[str, str]:
        if retries is None:
            self.notes.lost(manifest, path, "no retries block: Istio's implicit 2 retries on "
                            "connect-failure,refused-stream,unavailable,cancelled; Linkerd "
                            "retries nothing unless annotated")
            return {}
        retries = dict(retries)
        attempts = int(retries.get("attempts", 2))
        if attempts == 0:
            return {}
        out = {"retry.linkerd.io/limit": str(attempts)}
        if "perTryTimeout" in retries:
            out["retry.linkerd.io/timeout"] = str(retries["perTryTimeout"])
        conditions = self._conditions(manifest, (*path, "retries", "retryOn"),
                                      str(retries.get("retryOn", "")))
        if conditions[0]:
            out["retry.linkerd.io/http"] = ",".join(conditions[0])
        if conditions[1]:
            out["retry.linkerd.io/grpc"] = ",".join(conditions[1])
        for key, why in (("retryRemoteLocalities", "Linkerd has no localities"),
                         ("backoff", "Linkerd's back-off is fixed (25-250 ms)"),
                         ("retryIgnorePreviousHosts", "Linkerd retries re-enter the balancer "
                          "(and the backend split)")):
            if key in retries:
                self.notes.lost(manifest, (*path, "retries", key), why)
        return out

    def _conditions(self, manifest: Manifest, path: tuple[Any, ...],
                    retry_on: str) -> tuple[list[str], list[str]]:
        http: list[str] = []
        grpc: list[str] = []
        for cond in (c.strip() for c in retry_on.split(",") if c.strip()):
            if cond.isdigit():
                http.append(cond)
            elif cond in GRPC_ON:
                grpc.append(cond)
            elif RETRY_ON.get(cond):
                target = str(RETRY_ON[cond])
                if target not in http:
                    http.append(target)
                if cond in ("connect-failure", "reset", "retriable-4xx"):
                    self.notes.approx(manifest, path, f"{cond} → {target} (Linkerd answers "
                                      "endpoint I/O errors 502 and connect timeouts 504)")
            elif cond == "refused-stream":
                self.notes.approx(manifest, path, "refused-stream: Linkerd retries H2 "
                                  "REFUSED_STREAM whenever any retry annotation exists")
            else:
                self.notes.lost(manifest, path, f"retryOn {cond!r} has no Linkerd condition")
        return http, grpc

    # -- DestinationRule ---------------------------------------------------------------------
    def _DestinationRule(self, manifest: Manifest, namespaces: set[str]) -> None:
        spec = spec_of(manifest)
        targets = self._rule_targets(manifest, str(spec.get("host", "")))
        policy = dict(spec.get("trafficPolicy", {}))
        for key, why in DR_LOST.items():
            if key in policy:
                self.notes.lost(manifest, ("spec", "trafficPolicy", key), why)
        lb = policy.get("loadBalancer")
        if isinstance(lb, dict):
            if lb.get("simple") == "LEAST_REQUEST":
                self.notes.approx(manifest, ("spec", "trafficPolicy", "loadBalancer"),
                                  "Linkerd balances by P2C over peak EWMA latency, the nearest "
                                  "to least request")
            else:
                self.notes.lost(manifest, ("spec", "trafficPolicy", "loadBalancer"),
                                "Linkerd's balancer (P2C + peak EWMA) is not configurable")
        outlier = policy.get("outlierDetection")
        if isinstance(outlier, dict):
            annotations = self._accrual(manifest, dict(outlier))
            for target in targets:
                self.service_annotations.setdefault(
                    (target.service, target.namespace), {}).update(annotations)
        for i, subset in enumerate(spec.get("subsets", [])):
            if "trafficPolicy" in subset:
                self.notes.lost(manifest, ("spec", "subsets", i, "trafficPolicy"),
                                "per-subset policy: not translated")
        for key in ("exportTo", "workloadSelector"):
            if key in spec:
                self.notes.lost(manifest, ("spec", key), "not translated")

    def _rule_targets(self, manifest: Manifest, host: str) -> list[RuleTarget]:
        """The Services the rule's policy lands on; a wildcard host is written out per Service
        (Linkerd has no wildcard), and a rule another one shadows governs none."""
        targets = self.rules.targets(manifest)
        if not is_wildcard(host):
            if not targets and "trafficPolicy" in spec_of(manifest):
                self.notes.lost(manifest, ("spec", "trafficPolicy"), "another DestinationRule "
                                "for this host sets the trafficPolicy first, and Istio keeps "
                                "the first")
            return targets
        names = ", ".join(t.service for t in targets) or "none"
        self.notes.approx(manifest, ("spec", "host"), f"Linkerd has no wildcard host: {host!r} "
                          f"is written out for each service it governs ({names})")
        overridden = self.rules.overridden(manifest)
        if overridden:
            self.notes.approx(manifest, ("spec", "host"), "not applied to "
                              f"{', '.join(overridden)}: a more specific (or earlier) "
                              "DestinationRule governs them, and Istio applies only that one")
        return targets

    def _accrual(self, manifest: Manifest, outlier: dict[str, Any]) -> dict[str, str]:
        path = ("spec", "trafficPolicy", "outlierDetection")
        failures = outlier.get("consecutive5xxErrors")
        if failures is None and "consecutiveGatewayErrors" in outlier:
            failures = outlier["consecutiveGatewayErrors"]
            self.notes.approx(manifest, (*path, "consecutiveGatewayErrors"),
                              "Linkerd counts every failure, not only gateway errors")
        annotations = {
            "balancer.linkerd.io/failure-accrual": "consecutive",
            "balancer.linkerd.io/failure-accrual-consecutive-max-failures": str(failures or 5),
            "balancer.linkerd.io/failure-accrual-consecutive-min-penalty":
                str(outlier.get("baseEjectionTime", "30s")),
            "balancer.linkerd.io/failure-accrual-consecutive-max-penalty": "300s",
        }
        self.notes.approx(manifest, (*path, "baseEjectionTime"), "min-penalty; Linkerd "
                          "doubles it per failed probe up to max-penalty (300 s, Envoy's cap), "
                          "Envoy multiplies it by the ejection count")
        for key in ("interval", "maxEjectionPercent", "minHealthPercent",
                    "splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures"):
            if key in outlier:
                self.notes.lost(manifest, (*path, key), "Linkerd's failure accrual has no "
                                "sweep interval and no ejection cap")
        return annotations

    # -- security ----------------------------------------------------------------------------
    def _PeerAuthentication(self, manifest: Manifest, namespaces: set[str]) -> None:
        spec = spec_of(manifest)
        mode = dict(spec.get("mtls", {})).get("mode", "UNSET")
        targets = namespaces if manifest.namespace == "istio-system" else {manifest.namespace}
        if "selector" in spec:
            self.notes.approx(manifest, ("spec", "selector"), "applied to the whole namespace "
                              "(meshsim reads Linkerd's default policy per namespace)")
        if "portLevelMtls" in spec:
            self.notes.lost(manifest, ("spec", "portLevelMtls"), "Linkerd has no per-port mTLS")
        if mode == "STRICT":
            for namespace in targets:
                self.namespace_policy[namespace] = "all-authenticated"
            self.notes.approx(manifest, ("spec", "mtls", "mode"), "STRICT → default inbound "
                              "policy all-authenticated: Linkerd answers a plaintext HTTP "
                              "caller 403, where Istio refuses the connection")
        elif mode == "DISABLE":
            self.notes.lost(manifest, ("spec", "mtls", "mode"), "Linkerd cannot carry plaintext "
                            "between meshed pods (mTLS is always on)")
        else:
            self.notes.approx(manifest, ("spec", "mtls", "mode"), f"{mode} ≈ Linkerd's default "
                              "all-unauthenticated (meshed traffic is mTLS either way)")

    def _AuthorizationPolicy(self, manifest: Manifest, namespaces: set[str]) -> None:
        spec = spec_of(manifest)
        action = spec.get("action", "ALLOW")
        if action != "ALLOW":
            self.notes.lost(manifest, ("spec", "action"), f"{action}: Linkerd authorization is "
                            "allow-list only (no DENY, AUDIT or CUSTOM)")
            return
        labels = dict(dict(spec.get("selector", {})).get("matchLabels", {}))
        rules = list(spec.get("rules", []))
        if not labels:
            if rules:
                self.notes.lost(manifest, ("spec", "rules"), "namespace-wide ALLOW rules: not "
                                "translated (a Server needs a pod selector)")
            self.namespace_policy[manifest.namespace] = "deny"
            self.notes.approx(manifest, ("spec",), "namespace-wide ALLOW policy → "
                              "default-inbound-policy deny for the namespace")
            return
        server = f"{manifest.name}-server"
        self.out.append({"apiVersion": SERVER_API, "kind": "Server",
                         "metadata": meta(server, manifest.namespace),
                         "spec": {"podSelector": {"matchLabels": labels}, "port": "http",
                                  "proxyProtocol": "HTTP/1"}})
        for r, rule in enumerate(rules):
            self._allow(manifest, server, r, dict(rule))

    def _allow(self, manifest: Manifest, server: str, index: int, rule: dict[str, Any]) -> None:
        path = ("spec", "rules", index)
        if "to" in rule:
            self.notes.lost(manifest, (*path, "to"), "methods/paths/ports not translated: the "
                            "Linkerd rule allows every request of the permitted clients")
        if "when" in rule:
            self.notes.lost(manifest, (*path, "when"), "conditions have no Linkerd equivalent")
        identities: list[Doc] = []
        networks: list[Doc] = []
        for s, source in enumerate(rule.get("from", [])):
            src = dict(dict(source).get("source", {}))
            for principal in src.get("principals", []):
                parts = str(principal).split("/")
                if len(parts) == 5 and parts[1] == "ns" and parts[3] == "sa":
                    identities.append({"kind": "ServiceAccount", "name": parts[4],
                                       "namespace": parts[2]})
                else:
                    identities.append({"kind": "ServiceAccount", "name": "*"})
                    self.notes.approx(manifest, (*path, "from", s, "source", "principals"),
                                      f"{principal!r} → any meshed identity")
            for ns in src.get("namespaces", []):
                identities.append({"kind": "Namespace", "name": str(ns)})
            for block in src.get("ipBlocks", []):
                networks.append({"cidr": str(block)})
            for key in src:
                if key not in ("principals", "namespaces", "ipBlocks"):
                    self.notes.lost(manifest, (*path, "from", s, "source", key),
                                    "no Linkerd authentication for it (no JWT, no negation)")
        name = f"{manifest.name}-{index}"
        refs: list[Doc] = []
        if identities:
            self.out.append({"apiVersion": POLICY_API, "kind": "MeshTLSAuthentication",
                             "metadata": meta(name, manifest.namespace),
                             "spec": {"identityRefs": identities}})
            refs.append({"group": "policy.linkerd.io", "kind": "MeshTLSAuthentication",
                         "name": name})
        if networks:
            self.out.append({"apiVersion": POLICY_API, "kind": "NetworkAuthentication",
                             "metadata": meta(f"{name}-net", manifest.namespace),
                             "spec": {"networks": networks}})
            refs.append({"group": "policy.linkerd.io", "kind": "NetworkAuthentication",
                         "name": f"{name}-net"})
        if not refs:  # a rule without ``from``: anyone
            self.out.append({"apiVersion": POLICY_API, "kind": "NetworkAuthentication",
                             "metadata": meta(f"{name}-all", manifest.namespace),
                             "spec": {"networks": [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]}})
            refs.append({"group": "policy.linkerd.io", "kind": "NetworkAuthentication",
                         "name": f"{name}-all"})
        self.out.append({"apiVersion": POLICY_API, "kind": "AuthorizationPolicy",
                         "metadata": meta(name, manifest.namespace),
                         "spec": {"targetRef": {"group": "policy.linkerd.io", "kind": "Server",
                                                "name": server},
                                  "requiredAuthenticationRefs": refs}})
