"""AuthorizationPolicy and PeerAuthentication: what the translator reads, warns about and
rejects, and how the destination sidecar's RBAC decides (Istio's model.go / builder order)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from istio_helpers import codes, find, run, service, topology

from meshsim.errors import ScenarioError
from meshsim.model.authz import (
    IstioSecurity,
    RbacCondition,
    RbacPolicy,
    RbacRule,
    WorkloadSelector,
    principal_namespace,
    spiffe_principal,
)
from meshsim.sim.envoy.rbac import decide
from meshsim.sim.messages import Call

TOPO = topology(service("reviews", "v1", "v2"), service("ratings"),
                service("shop", namespace="prod"))
FRONTEND = spiffe_principal("frontend", "default")


def policy(spec: str, name: str = "p", namespace: str = "default",
           api: str = "security.istio.io/v1") -> str:
    return (f"apiVersion: {api}\nkind: AuthorizationPolicy\n"
            f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}")


def peer(spec: str, name: str = "pa", namespace: str = "default") -> str:
    return (f"apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\n"
            f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}")


def security(text: str) -> IstioSecurity:
    result = run(text, TOPO)
    assert result.policy.security is not None
    return result.policy.security


def only_policy(text: str) -> RbacPolicy:
    (p,) = security(text).policies
    return p


def error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        run(text, TOPO)
    return info.value


def call(method: str = "GET", path: str = "/reviews/1", service: str = "reviews",
         headers: Mapping[str, str] | None = None) -> Call:
    return Call(0, 0, None, service, method, path, headers or {}, 0, None,  # type: ignore[arg-type]
                lambda c: None)


# -- AuthorizationPolicy: binding and actions ----------------------------------------------------


def test_no_security_manifests_means_no_security_policy() -> None:
    assert run("", TOPO).policy.security is None


def test_selector_binds_labelled_workloads_of_its_namespace_only() -> None:
    p = only_policy(policy("  selector: {matchLabels: {app: reviews, version: v2}}\n"
                           "  rules: [{}]\n"))
    assert p.name == "default/p" and p.action == "ALLOW"
    assert p.selector.selects("default", {"app": "reviews", "version": "v2"})
    assert not p.selector.selects("default", {"app": "reviews", "version": "v1"})
    assert not p.selector.selects("prod", {"app": "reviews", "version": "v2"})


def test_no_selector_is_namespace_wide_and_root_namespace_is_mesh_wide() -> None:
    ns = only_policy(policy("  action: DENY\n  rules: [{}]\n", namespace="prod"))
    assert ns.selector.selects("prod", {"app": "shop"})
    assert not ns.selector.selects("default", {"app": "reviews"})
    mesh = only_policy(policy("  action: DENY\n  rules: [{}]\n", namespace="istio-system"))
    assert mesh.selector.selects("prod", {}) and mesh.selector.selects("default", {})


def test_v1beta1_reads_the_same() -> None:
    text = "  action: DENY\n  rules: [{to: [{operation: {methods: [POST]}}]}]\n"
    assert (only_policy(policy(text, api="security.istio.io/v1beta1"))
            == only_policy(policy(text)))


def test_empty_spec_is_an_allow_policy_without_rules() -> None:
    p = only_policy(policy("  {}\n"))
    assert (p.action, p.rules) == ("ALLOW", ())
    assert decide((), (p,), call(), FRONTEND) is not None  # allow-nothing


def test_custom_is_a_named_warning_and_no_policy() -> None:
    result = run(policy("  action: CUSTOM\n  provider: {name: opa}\n  rules: [{}]\n"), TOPO)
    assert result.policy.security is not None and result.policy.security.policies == ()
    warning = find(result.warnings, "CUSTOM authorization")
    assert warning.location.path == "AuthorizationPolicy/p spec.action"
    assert warning.location.line == 5


def test_audit_warns_that_it_has_no_effect_and_is_ignored_by_the_sidecar() -> None:
    result = run(policy("  action: AUDIT\n  rules: [{}]\n"), TOPO)
    assert find(result.warnings, "AUDIT only marks").location.path.endswith("spec.action")
    (p,) = result.policy.security.policies  # type: ignore[union-attr]
    assert p.action == "AUDIT"


def test_target_refs_bind_no_sidecar() -> None:
    result = run(policy("  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, "
                        "name: gw}]\n  action: DENY\n  rules: [{}]\n"), TOPO)
    assert result.policy.security.policies == ()  # type: ignore[union-attr]
    assert find(result.warnings, "targetRefs attaches").code == "no-effect"


@pytest.mark.parametrize(("spec", "message", "path"), [
    ("  action: allow\n", "unknown action 'allow'", "spec.action"),
    ("  provider: {name: x}\n", "provider must only be set with action CUSTOM",
     "spec.provider"),
    ("  selector: {matchLabels: {app: a}}\n  targetRef: {kind: Service, name: a}\n",
     "only one of targetRefs", "spec.targetRef"),
    ("  rules: [{from: [{}]}]\n", "from.source must not be empty", "spec.rules[0].from[0]"),
    ("  rules: [{to: [{operation: {}}]}]\n", "to.operation must not be empty",
     "spec.rules[0].to[0]"),
    ("  rules: [{when: [{key: source.namespace}]}]\n", "at least one of values or notValues",
     "spec.rules[0].when[0]"),
    ("  rules: [{when: [{key: source.color, values: [x]}]}]\n", "unknown attribute",
     "spec.rules[0].when[0].key"),
    ("  rules: [{when: [{key: request.headers, values: [x]}]}]\n",
     "expected request.headers[<name>]", "spec.rules[0].when[0].key"),
    ("  rules: [{from: [{source: {ipBlocks: [10.0.0.0/33]}}]}]\n", "invalid IP",
     "spec.rules[0].from[0].source.ipBlocks[0]"),
    ("  rules: [{to: [{operation: {ports: ['70000']}}]}]\n", "invalid port",
     "spec.rules[0].to[0].operation.ports[0]"),
    ("  rules: [{to: [{operation: {paths: [/a*b]}}]}]\n", "only allowed at the start or the end",
     "spec.rules[0].to[0].operation.paths[0]"),
    ("  rules: [{to: [{operation: {verbs: [GET]}}]}]\n", "unknown field 'verbs'",
     "spec.rules[0].to[0].operation.verbs"),
])
def test_invalid_policies_are_located_errors(spec: str, message: str, path: str) -> None:
    exc = error(policy(spec))
    assert message in exc.message
    assert exc.location.path == f"AuthorizationPolicy/p {path}"
    assert exc.location.line is not None


def test_policy_selecting_no_sidecar_warns_no_effect() -> None:
    result = run(policy("  selector: {matchLabels: {app: nobody}}\n  rules: [{}]\n"), TOPO)
    assert find(result.warnings, "applies to no workload").code == "no-effect"


# -- AuthorizationPolicy: rules -----------------------------------------------------------------

SOURCE_RULE = """\
  rules:
    - from:
        - source:
            principals: [cluster.local/ns/default/sa/frontend]
            notPrincipals: [cluster.local/ns/default/sa/evil]
            namespaces: [default]
            notNamespaces: [test]
            serviceAccounts: [frontend, prod/shop]
      to:
        - operation:
            methods: [GET]
            notMethods: [DELETE]
            paths: [/reviews/*]
            notPaths: [/reviews/admin]
            hosts: [reviews]
            notHosts: [ratings]
      when:
        - {key: "request.headers[end-user]", values: [jason], notValues: [bob]}
        - {key: source.principal, values: ["*"]}
"""


def test_every_source_operation_and_when_field_becomes_a_condition() -> None:
    result = run(policy(SOURCE_RULE), TOPO)
    assert result.warnings == []
    (rule,) = result.policy.security.policies[0].rules  # type: ignore[union-attr]
    (principals,) = rule.principals
    assert principals == (
        RbacCondition("source.principal", ("cluster.local/ns/default/sa/frontend",),
                      ("cluster.local/ns/default/sa/evil",)),
        RbacCondition("source.namespace", ("default",), ("test",)),
        RbacCondition("source.principal", ("cluster.local/ns/default/sa/frontend",
                                           "cluster.local/ns/prod/sa/shop")),
        RbacCondition("request.headers[end-user]", ("jason",), ("bob",)),
        RbacCondition("source.principal", ("*",)),
    )
    (permissions,) = rule.permissions
    assert permissions == (
        RbacCondition("host", ("reviews",), ("ratings",)),
        RbacCondition("method", ("GET",), ("DELETE",)),
        RbacCondition("path", ("/reviews/*",), ("/reviews/admin",)),
    )


def test_the_rule_decides_on_every_condition() -> None:
    p = only_policy(policy(SOURCE_RULE))
    jason = {"End-User": "jason"}
    assert decide((), (p,), call(headers=jason), FRONTEND) is None
    assert decide((), (p,), call(path="/reviews/1?x=1", headers=jason), FRONTEND) is None
    for denied in (call(headers=jason, method="POST"), call(headers={"end-user": "bob"}),
                   call(headers=jason, path="/reviews/admin"), call(headers=jason, path="/x"),
                   call(headers=jason, service="ratings"), call()):
        assert decide((), (p,), denied, FRONTEND) is not None
    assert decide((), (p,), call(headers=jason), spiffe_principal("x", "default")) is not None
    assert decide((), (p,), call(headers=jason), None) is not None  # plaintext: no principal


def test_request_principals_warn_and_never_match_without_jwt() -> None:
    result = run(policy("  rules: [{from: [{source: {requestPrincipals: ['*']}}]}]\n"), TOPO)
    warning = find(result.warnings, "requests carry no JWT")
    assert warning.location.path.endswith("source.requestPrincipals")
    (p,) = result.policy.security.policies  # type: ignore[union-attr]
    assert decide((), (p,), call(), FRONTEND) is not None


def test_ports_are_taken_to_be_the_pods_one_port_with_a_warning() -> None:
    result = run(policy("  rules: [{to: [{operation: {ports: ['9080']}}]}]\n", name="a")
                 + "---\n" + policy("  rules: [{to: [{operation: {notPorts: ['9080']}}]}]\n",
                                    name="b"), TOPO)
    assert codes(result.warnings) == ["approximated", "approximated"]
    a, b = result.policy.security.policies  # type: ignore[union-attr]
    assert decide((), (a,), call(), FRONTEND) is None
    assert decide((), (b,), call(), FRONTEND) is not None


def test_ip_blocks_match_the_one_caller_address_with_a_warning() -> None:
    text = ("  action: DENY\n  rules: [{from: [{source: {ipBlocks: [10.244.0.0/16], "
            "notRemoteIpBlocks: [1.2.3.4]}}]}]\n")
    result = run(policy(text), TOPO)
    assert len([w for w in result.warnings if "10.244.0.10" in w.message]) == 2
    (p,) = result.policy.security.policies  # type: ignore[union-attr]
    assert decide((p,), (), call(), None) is not None


def test_unevaluated_key_skips_an_allow_rule_but_widens_a_deny_rule() -> None:
    when = "    when: [{key: destination.ip, values: [10.0.0.1]}]\n"
    allow = run(policy(f"  rules:\n  - to: [{{operation: {{methods: [GET]}}}}]\n{when}"), TOPO)
    assert find(allow.warnings, "Istio skips the whole rule").location.path == (
        "AuthorizationPolicy/p spec.rules[0]")
    assert allow.policy.security.policies[0].rules == ()  # type: ignore[union-attr]
    deny = run(policy(f"  action: DENY\n  rules:\n  - to: [{{operation: {{methods: [GET]}}}}]\n"
                      f"{when}"), TOPO)
    assert find(deny.warnings, "Istio drops the condition").location.path.endswith("when[0].key")
    (p,) = deny.policy.security.policies  # type: ignore[union-attr]
    assert decide((p,), (), call(), FRONTEND) is not None
    assert decide((p,), (), call(method="POST"), FRONTEND) is None


def test_jwt_claims_warn_and_never_match() -> None:
    text = "  rules: [{when: [{key: 'request.auth.claims[iss]', values: [me]}]}]\n"
    result = run(policy(text), TOPO)
    assert find(result.warnings, "request.auth.claims[iss]").code == "approximated"
    (p,) = result.policy.security.policies  # type: ignore[union-attr]
    assert decide((), (p,), call(), FRONTEND) is not None


def test_when_destination_port_warns() -> None:
    text = "  rules: [{when: [{key: destination.port, values: ['9080']}]}]\n"
    warning = find(run(policy(text), TOPO).warnings, "destination.port")
    assert warning.location.path == "AuthorizationPolicy/p spec.rules[0].when[0].key"


# -- evaluation order ---------------------------------------------------------------------------


def _p(action: str, *conditions: RbacCondition) -> RbacPolicy:
    return RbacPolicy(f"default/{action.lower()}", action,  # type: ignore[arg-type]
                      WorkloadSelector("default"), (RbacRule(permissions=(conditions,)),))


def test_deny_wins_over_allow_and_allow_must_match_one() -> None:
    get = RbacCondition("method", ("GET",))
    deny_admin = _p("DENY", RbacCondition("path", ("/admin*",)))
    allow_get = _p("ALLOW", get)
    assert decide((deny_admin,), (allow_get,), call(path="/admin/x"), FRONTEND) == (
        "matched DENY policy default/deny")
    assert decide((deny_admin,), (allow_get,), call(), FRONTEND) is None
    assert decide((deny_admin,), (allow_get,), call(method="PUT"), FRONTEND) is not None
    assert decide((deny_admin,), (), call(method="PUT"), FRONTEND) is None  # no ALLOW: allowed


def test_string_matches_prefix_suffix_and_presence() -> None:
    for pattern, path, hit in [("/a*", "/ab", True), ("/a*", "/b", False), ("*.html", "/x.html",
                               True), ("*", "/anything", True), ("/a", "/a/", False)]:
        p = _p("DENY", RbacCondition("path", (pattern,)))
        assert (decide((p,), (), call(path=path), FRONTEND) is not None) is hit, pattern


def test_namespaces_come_from_the_principal() -> None:
    assert principal_namespace("cluster.local/ns/prod/sa/shop") == "prod"
    p = _p("ALLOW")
    p = RbacPolicy(p.name, "ALLOW", p.selector, (RbacRule(principals=((
        RbacCondition("source.namespace", ("pro*",)),),)),))
    assert decide((), (p,), call(), spiffe_principal("shop", "prod")) is None
    assert decide((), (p,), call(), FRONTEND) is not None
    assert decide((), (p,), call(), None) is not None


# -- PeerAuthentication -------------------------------------------------------------------------


def test_mode_precedence_workload_over_namespace_over_mesh_and_unset_inherits() -> None:
    text = "\n---\n".join([
        peer("  mtls: {mode: STRICT}\n", name="mesh", namespace="istio-system"),
        peer("  mtls: {mode: DISABLE}\n", name="ns", namespace="prod"),
        peer("  selector: {matchLabels: {version: v2}}\n  mtls: {mode: PERMISSIVE}\n",
             name="v2"),
        peer("  selector: {matchLabels: {version: v1}}\n  mtls: {mode: UNSET}\n", name="v1"),
    ])
    sec = security(text)
    assert sec.mtls_mode("default", {"app": "reviews", "version": "v2"}) == "PERMISSIVE"
    assert sec.mtls_mode("default", {"app": "reviews", "version": "v1"}) == "STRICT"
    assert sec.mtls_mode("prod", {"app": "shop"}) == "DISABLE"
    assert sec.mtls_mode("default", {"app": "ratings"}) == "STRICT"


def test_default_mode_is_permissive() -> None:
    assert security(peer("  mtls: {mode: UNSET}\n")).mtls_mode("default", {}) == "PERMISSIVE"


def test_single_port_level_mode_applies_with_a_warning() -> None:
    text = peer("  selector: {matchLabels: {app: ratings}}\n  mtls: {mode: PERMISSIVE}\n"
                "  portLevelMtls:\n    9080: {mode: STRICT}\n")
    result = run(text, TOPO)
    assert find(result.warnings, "the port named here is taken").code == "approximated"
    assert result.policy.security.mtls_mode("default", {"app": "ratings"}) == "STRICT"  # type: ignore[union-attr]


def test_several_port_level_modes_are_ignored_with_a_warning() -> None:
    text = peer("  selector: {matchLabels: {app: ratings}}\n  mtls: {mode: PERMISSIVE}\n"
                "  portLevelMtls:\n    9080: {mode: STRICT}\n    '9090': {mode: DISABLE}\n")
    result = run(text, TOPO)
    assert find(result.warnings, "cannot tell which").location.path == (
        "PeerAuthentication/pa spec.portLevelMtls")
    assert result.policy.security.mtls_mode("default", {"app": "ratings"}) == "PERMISSIVE"  # type: ignore[union-attr]


def test_second_namespace_policy_is_ignored_with_a_warning() -> None:
    text = peer("  mtls: {mode: STRICT}\n", name="a") + "---\n" + peer(
        "  mtls: {mode: DISABLE}\n", name="b")
    result = run(text, TOPO)
    assert find(result.warnings, "already sets the mode").location.line == 7  # b's first line
    assert result.policy.security.mtls_mode("default", {}) == "STRICT"  # type: ignore[union-attr]


@pytest.mark.parametrize(("spec", "message", "path"), [
    ("  mtls: {mode: strict}\n", "unknown mode 'strict'", "spec.mtls.mode"),
    ("  portLevelMtls: {9080: {mode: STRICT}}\n", "portLevelMtls requires a selector",
     "spec.portLevelMtls"),
    ("  selector: {matchLabels: {app: a}}\n  portLevelMtls: {http: {mode: STRICT}}\n",
     "must be a port number", "spec.portLevelMtls.http"),
    ("  selector: {matchLabels: {app: a}}\n  portLevelMtls: {'80': {mod: STRICT}}\n",
     "unknown field 'mod'", "spec.portLevelMtls.80.mod"),
    ("  mtls: {mode: STRICT, level: 2}\n", "unknown field 'level'", "spec.mtls.level"),
])
def test_invalid_peer_authentications_are_located_errors(spec: str, message: str,
                                                         path: str) -> None:
    exc = error(peer(spec))
    assert message in exc.message
    assert exc.location.path == f"PeerAuthentication/pa {path}"
