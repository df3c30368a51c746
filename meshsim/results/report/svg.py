"""A few SVG building blocks: escaped text, elements, linear scales and nice axis ticks.

Strings, not a DOM: the report is one file, and the same run gives the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

# Kiali's (PatternFly's) status colours.
COLOURS = {"healthy": "#3e8635", "degraded": "#f0ab00", "failure": "#c9190b",
           "idle": "#8a8d90"}


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def num(value: float) -> str:
    """A coordinate: two decimals at most, no ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def element(tag: str, body: str = "", **attrs: object) -> str:
    """``<tag a="1">body</tag>``; attribute names use ``_`` for ``-`` (``stroke_width``);
    None values are left out."""
    parts = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{esc(num(v) if isinstance(v, float) else v)}"'
        for k, v in attrs.items() if v is not None)
    return f"<{tag}{parts}>{body}</{tag}>" if body else f"<{tag}{parts}/>"


def title(text: str) -> str:
    """A hover tooltip (SVG ``<title>``)."""
    return f"<title>{esc(text)}</title>"


@dataclass(frozen=True)
class Scale:
    """Linear map from a data domain to pixels."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo
        t = (value - self.lo) / span if span else 0.0
        return self.start + t * (self.end - self.start)


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (1, 2 or 5 times a power of ten apart)."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    value = first
    while value <= hi + 1e-9 * step:
        out.append(round(value, 12))
        value += step
    return out
