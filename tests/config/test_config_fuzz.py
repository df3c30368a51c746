"""Fuzz the scenario loader and every manifest kind meshsim ingests with mutated valid documents.

Each example takes a bundled scenario (scenarios/), inlines the manifests it names, and mutates
the Scenario document or one manifest: keys dropped or renamed, values swapped for other types,
huge, negative or non-finite numbers, wrong units and random strings. Loading must either
succeed or raise meshsim's located :class:`ScenarioError`; any other exception is a bug. The
examples are derandomized, so CI runs the same ones; set ``MESHSIM_FUZZ_EXAMPLES`` (a count)
and ``MESHSIM_FUZZ_RANDOM=1`` to explore more locally.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import SCENARIOS

from meshsim.api import check_run_size
from meshsim.config import load_scenario_text
from meshsim.config.locator import Locator
from meshsim.config.manifests import manifest_files, split_scenario
from meshsim.config.yamlsrc import YamlPath, load_stream
from meshsim.errors import ScenarioError

EXAMPLES = int(os.environ.get("MESHSIM_FUZZ_EXAMPLES", "400"))


@dataclass(frozen=True)
class Bundle:
    """A scenario file as documents: the Scenario first, then every manifest, inlined."""

    file: Path
    documents: tuple[dict[str, Any], ...]


def _bundle(file: Path) -> Bundle:
    scenario, inline = split_scenario(load_stream(file.read_text(), str(file)), str(file))
    data = copy.deepcopy(scenario.data)
    assert isinstance(data, dict)
    patterns = data["spec"].pop("manifests", [])
    locator = Locator(str(file), scenario.positions, scenario.data)
    files = manifest_files(patterns, file.parent, file, locator)
    manifests = [d.data for d in inline] + [
        d.data for f in files for d in load_stream(Path(f).read_text(), f)
    ]
    return Bundle(file, (data, *(m for m in manifests if isinstance(m, dict))))


# Kinds no bundled scenario uses, as valid documents added to a scenario of their mesh
EXTRA = {
    "istio/authorization.yaml": """
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: payments, namespace: default}
spec:
  hosts: [api.payments.example.com]
  location: MESH_EXTERNAL
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["./*"]}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  jwtRules: [{issuer: "https://issuer.example.com"}]
---
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
""",
    "linkerd/authorization.yaml": """
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: frontend-only, namespace: my-namespace}
spec:
  identities: ["frontend.my-namespace.serviceaccount.identity.linkerd.cluster.local"]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: cluster-network, namespace: my-namespace}
spec:
  networks: [{cidr: 10.0.0.0/8}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: frontend-may-call, namespace: my-namespace}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: my-service-http}
  requiredAuthenticationRefs:
    - {name: frontend-only, kind: MeshTLSAuthentication, group: policy.linkerd.io}
---
apiVersion: v1
kind: Namespace
metadata:
  name: my-namespace
  annotations: {linkerd.io/inject: enabled}
""",
}


EXTRA_SERVICES = {  # services the extra documents name
    "istio/authorization.yaml": {"payments": {"external": True, "latency": "constant(20ms)"}},
}


def _with_extra(bundle: Bundle) -> Bundle:
    name = str(bundle.file.relative_to(SCENARIOS))
    if name not in EXTRA:
        return bundle
    scenario = copy.deepcopy(bundle.documents[0])
    scenario["spec"]["services"].update(EXTRA_SERVICES.get(name, {}))
    documents = [d.data for d in load_stream(EXTRA[name], str(bundle.file))]
    return Bundle(bundle.file, (scenario, *bundle.documents[1:], *documents))  # type: ignore[arg-type]


BUNDLES = tuple(_with_extra(_bundle(f)) for f in sorted(SCENARIOS.rglob("*.yaml")))
KINDS = sorted({str(d.get("kind")) for b in BUNDLES for d in b.documents[1:]})


def _paths(node: object, path: YamlPath = ()) -> Iterator[YamlPath]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _parent(root: Any, path: YamlPath) -> Any:
    for step in path[:-1]:
        root = root[step]
    return root


NUMBERS = st.sampled_from(
    [0, -1, 1, 2**31, 2**63, 10**12, -(10**9), 0.5, -0.5, 1e308, 1e-300,
     float("inf"), float("-inf"), float("nan")]
)
UNITS = st.sampled_from(
    ["1e400s", "-5s", "5 sec", "10/q", "1e12/s", "1e400/s", "x0", "xnan", "x1e400", "+1e400s",
     "nan", "inf", "-inf", "101%", "nan%", "0s", "0", "5ms", "1h", "24h", "400/s", "true",
     "constant(1e400ms)", "exponential(-1ms)", "gamma(mean=1ms, cv=nan)",
     "lognormal(median=1ms, p99=1e400s)", "empirical(/dev/null)", "", " ", "~", "*", "**"]
)
SCALARS = st.one_of(
    NUMBERS, UNITS, st.booleans(), st.none(), st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=6), SCALARS, max_size=3),
)


def _mutate(data: st.DataObject, document: dict[str, Any]) -> None:
    """One mutation at a path of ``document``."""
    paths = [p for p in _paths(document) if p]
    leaves = [p for p in paths if not isinstance(_parent(document, p)[p[-1]], dict | list)]
    # mostly values (what users mistype), sometimes whole sections
    pool = leaves if leaves and data.draw(st.integers(0, 9), label="leaf") < 7 else paths
    path = data.draw(st.sampled_from(pool), label="path")
    parent, key = _parent(document, path), path[-1]
    action = data.draw(
        st.sampled_from(["drop", "rename", "replace", "replace", "number", "unit", "wrap"]),
        label="action",
    )
    if action == "drop":
        del parent[key]
    elif action == "rename" and isinstance(parent, dict):
        new = data.draw(st.one_of(st.text(max_size=10), st.sampled_from(
            [str(key)[:-1], str(key) + "s", str(key).upper(), "<<", "spec", "kind"])),
            label="new name")
        parent[new] = parent.pop(key)
    elif action == "number":
        parent[key] = data.draw(NUMBERS, label="number")
    elif action == "unit":
        parent[key] = data.draw(UNITS, label="unit")
    elif action == "wrap":
        parent[key] = data.draw(st.sampled_from([[parent[key]], {"x": parent[key]}]))
    else:
        parent[key] = data.draw(VALUES, label="value")


def _non_finite(node: object, path: str = "model", seen: set[int] | None = None) -> str | None:
    """The path of an infinite or NaN number anywhere in a compiled model, else None."""
    seen = set() if seen is None else seen
    if isinstance(node, float):
        return None if math.isfinite(node) else path
    if isinstance(node, str | int | bool | type(None)) or id(node) in seen:
        return None
    seen.add(id(node))
    if dataclasses.is_dataclass(node):
        children: Iterator[tuple[str, object]] = (
            (f.name, getattr(node, f.name)) for f in dataclasses.fields(node)
        )
    elif isinstance(node, Mapping):
        children = ((str(k), v) for k, v in node.items())
    elif isinstance(node, tuple | list | frozenset | set):
        children = ((str(i), v) for i, v in enumerate(node))
    else:
        return None
    for name, child in children:
        found = _non_finite(child, f"{path}.{name}", seen)
        if found is not None:
            return found
    return None


def _load(bundle: Bundle, documents: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(documents, sort_keys=False)
    try:
        scenario = load_scenario_text(text, bundle.file.parent, bundle.file.name)
        check_run_size(scenario.model, allow_large=False, file=str(bundle.file))
        # what loads is simulable: no infinity or NaN reaches the engine (1e400s, xnan did)
        assert _non_finite(scenario.model) is None, _non_finite(scenario.model)
    except ScenarioError as exc:
        assert exc.location.file, exc  # located: at least the file (or --set)
        assert "\n" not in exc.message, exc  # one line


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("MESHSIM_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_bundled_scenario_loads_as_inlined() -> None:
    """The fuzz starts from valid documents: each bundle loads before it is mutated."""
    for bundle in BUNDLES:
        text = yaml.safe_dump_all(list(bundle.documents), sort_keys=False)
        scenario = load_scenario_text(text, bundle.file.parent, bundle.file.name)
        assert _non_finite(scenario.model) is None
    assert len(BUNDLES) >= 30
    assert {
        "VirtualService", "DestinationRule", "ServiceEntry", "Sidecar", "RequestAuthentication",
        "ServiceProfile", "MeshTLSAuthentication", "NetworkAuthentication", "Namespace",
        "Canary", "Rollout",
    } <= set(KINDS)


@FUZZ
@given(data=st.data())
def test_mutated_scenario_documents_give_located_errors(data: st.DataObject) -> None:
    bundle = data.draw(st.sampled_from(BUNDLES), label="scenario")
    documents = list(copy.deepcopy(bundle.documents))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        _mutate(data, documents[0])
    _load(bundle, documents)


@FUZZ
@given(data=st.data())
def test_mutated_manifests_give_located_errors(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    bundle = data.draw(
        st.sampled_from([b for b in BUNDLES if any(d.get("kind") == kind for d in b.documents)]),
        label="scenario",
    )
    documents = list(copy.deepcopy(bundle.documents))
    index = data.draw(st.sampled_from(
        [i for i, d in enumerate(documents) if i and d.get("kind") == kind]), label="manifest")
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        _mutate(data, documents[index])
    _load(bundle, documents)


@pytest.mark.parametrize("kind", KINDS)
def test_each_manifest_kind_survives_losing_each_top_level_field(kind: str) -> None:
    """Deterministic sweep next to the fuzz: every kind without each of its sections."""
    for bundle in BUNDLES:
        for index, document in enumerate(bundle.documents):
            if not index or document.get("kind") != kind:
                continue
            for section in ("spec", "metadata"):
                for key in list(document.get(section) or {}):
                    documents = list(copy.deepcopy(bundle.documents))
                    del documents[index][section][key]
                    _load(bundle, documents)
