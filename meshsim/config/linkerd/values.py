"""Linkerd's value formats: annotation durations, Gateway API durations, Kubernetes quantities.

* Annotation durations (``policy-controller/k8s/index/src/outbound/index.rs`` ``parse_duration``)
  are one whole integer with a unit ``ms|s|m|h|d``; a bare ``0`` is allowed; fractions,
  negatives and missing units are rejected.
* Gateway API ``Duration`` (GEP-2257): ``^([0-9]{1,5}(h|m|s|ms)){1,4}$``.
* ServiceProfile ``timeout`` and ``retryBudget.ttl`` are Go durations (``time.ParseDuration``),
  parsed by :func:`meshsim.config.manifest.durations.parse_istio_duration`.
* SMI weights and ``dstOverrides`` weights are Kubernetes quantities (``900m``, ``1``, ``0.5``);
  the controller sends ``MilliValue() × 10`` ("decimillis").
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from meshsim.errors import UnitError

_ANNOTATION_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ANNOTATION = re.compile(r"^([0-9]+)(ms|s|m|h|d)$")
_GATEWAY_PART = re.compile(r"([0-9]{1,5})(ms|h|m|s)")
_GATEWAY = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
_GATEWAY_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_QUANTITY = re.compile(
    r"^([+-]?[0-9]*\.?[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[0-9]+|E[0-9]+)?$"
)
_SUFFIX = {
    None: Decimal(1), "m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18, "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def parse_annotation_duration(text: str) -> float:
    """Seconds from a Linkerd annotation duration; :class:`UnitError` when Linkerd rejects it."""
    value = text.strip()
    if value == "0":
        return 0.0
    match = _ANNOTATION.match(value)
    if match is None:
        raise UnitError(
            f"{text!r} is not a Linkerd duration (a whole number with unit ms, s, m, h or d, "
            "like '500ms' or '10s')"
        )
    return int(match.group(1)) * _ANNOTATION_UNITS[match.group(2)]


def parse_gateway_duration(value: object) -> float:
    """Seconds from a Gateway API duration (GEP-2257), e.g. ``10s``, ``1m30s``, ``500ms``."""
    if not isinstance(value, str) or not _GATEWAY.match(value.strip()):
        raise UnitError(
            f"{value!r} is not a Gateway API duration (1 to 4 parts of up to 5 digits with "
            "unit h, m, s or ms, like '10s' or '1m30s')"
        )
    return sum(int(n) * _GATEWAY_UNITS[u] for n, u in _GATEWAY_PART.findall(value.strip()))


def quantity_millis(value: object) -> int:
    """A Kubernetes quantity's ``MilliValue()`` (rounded up, as resource.Quantity does)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnitError(f"expected a quantity like '900m' or '1', got {value!r}")
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None:
        raise UnitError(f"{value!r} is not a Kubernetes quantity (like '900m', '1' or '0.5')")
    number, suffix = match.group(1), match.group(2)
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise UnitError(f"{value!r} is not a Kubernetes quantity") from None
    if suffix and suffix[0] in "eE" and len(suffix) > 1:
        scale = Decimal(10) ** int(suffix[1:])
    else:
        scale = _SUFFIX[suffix]
    millis = amount * scale * 1000
    if millis < 0:
        raise UnitError(f"a weight cannot be negative, got {value!r}")
    return math.ceil(millis)
