"""Istio durations: Go ``time.ParseDuration`` text (``10s``, ``0.5s``, ``250ms``, ``1h30m``).

Istio's CRDs take protobuf ``Duration`` fields as these strings; a bare number has no unit and
is rejected, as the API server would.
"""

from __future__ import annotations

import re

from meshsim.errors import UnitError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
          "h": 3600.0}
_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


def parse_istio_duration(value: object) -> float:
    """Seconds from an Istio duration string; :class:`UnitError` when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise UnitError(
            f"expected a duration like '10s', '0.5s' or '250ms', got {value!r}"
            + ("; Istio durations need a unit" if isinstance(value, int | float) else "")
        )
    text = value.strip()
    if text in ("0", "+0"):
        return 0.0
    if text.startswith("-"):
        raise UnitError(f"a duration cannot be negative, got {value!r}")
    body = text.removeprefix("+")
    total, position = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position == 0 or position != len(body):
        raise UnitError(
            f"expected a duration like '10s', '0.5s' or '250ms' (units ns, us, ms, s, m, h), "
            f"got {value!r}"
        )
    return total
