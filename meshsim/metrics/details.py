"""The ``detail`` column of events as ``key=value`` pairs, so results can read it back.

Values are written with ``repr``-free plain text; a value never contains a space (spaces
become ``_``). ``decode(encode(**kv))`` gives the strings back.
"""

from __future__ import annotations


def encode(**fields: object) -> str:
    """``encode(weight=10, phase="Progressing")`` → ``"weight=10 phase=Progressing"``."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}={text.replace(' ', '_')}")
    return " ".join(parts)


def decode(detail: str) -> dict[str, str]:
    """The pairs of an encoded detail; words without ``=`` are ignored."""
    out: dict[str, str] = {}
    for word in detail.split():
        key, sep, value = word.partition("=")
        if sep:
            out[key] = value
    return out
