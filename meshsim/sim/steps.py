"""A handler's call steps as the pod reads them on every request: compiled once per deployment.

The model's call specs (:class:`meshsim.model.Call`, :class:`meshsim.model.Parallel`) are
frozen dataclasses; the compiled pod would read each field of one through a dictionary
look-up on every downstream call. A :class:`CallPlan` holds the same fields as C fields
(``steps.pxd``), built when the pod starts running a deployment's code (construction, a
promotion), and keeps its spec for what needs the model itself (an app client's calls).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from meshsim.model import Call as CallSpec
from meshsim.model import CallStep


class CallPlan:
    """One step: a downstream call, or a fan-out (``fan_out`` holds its calls' plans)."""

    __slots__ = (
        "app_client", "fan_out", "headers", "method", "optional", "path", "probability",
        "service", "spec",
    )

    def __init__(self, spec: CallStep) -> None:
        self.spec = spec
        self.fan_out: tuple[CallPlan, ...] | None = None
        self.service = ""
        self.method = ""
        self.path = ""
        self.headers: Mapping[str, str] | None = None  # None: the parent's headers as they are
        self.probability = 1.0
        self.optional = False
        self.app_client = False  # the app's own client makes it (the pod's ``_launch`` hook)
        if isinstance(spec, CallSpec):
            self.service = spec.service
            self.method = spec.method
            self.path = spec.path
            self.headers = spec.headers if spec.headers else None
            self.probability = spec.probability
            self.optional = spec.optional
            self.app_client = spec.client is not None
        else:
            self.fan_out = plans(spec.calls)


def plans(steps: Sequence[CallStep]) -> tuple[CallPlan, ...]:
    """The plans of a handler's steps, in order."""
    return tuple(CallPlan(step) for step in steps)
