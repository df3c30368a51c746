"""VirtualService ``gateways`` entries resolve as Istio's ``resolveGatewayName`` does."""

from __future__ import annotations

import pytest

from meshsim.config.istio.gateway import resolve_gateway_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("public-gateway", "prod/public-gateway"),                          # short: referrer's ns
        ("./public-gateway", "prod/public-gateway"),                        # ./: referrer
        ("istio-system/public-gateway", "istio-system/public-gateway"),     # ns/name as written
        ("public-gateway.istio-system.svc.cluster.local", "istio-system/public-gateway"),  # FQDN
        ("public-gateway.istio-system", "istio-system/public-gateway"),     # name.ns
    ],
)
def test_gateway_reference_forms(name: str, expected: str) -> None:
    assert resolve_gateway_name(name, "prod") == expected
