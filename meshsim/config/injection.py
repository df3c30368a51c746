"""Sidecar injection, mesh-neutral: whether a service's pods run a proxy, and why.

Istio decides it from labels (``config/istio/injection.py``), Linkerd from annotations
(``config/linkerd/injection.py``); both answer with an :class:`Injection` so that warnings and
``meshsim validate`` can say which setting decided it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Injection:
    """Whether a service's pods run the mesh's proxy, and which setting decided it."""

    injected: bool
    reason: str
    by_namespace: bool = False  # decided by a Namespace manifest the scenario carries
