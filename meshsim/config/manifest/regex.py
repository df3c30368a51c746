"""Regexes as Envoy's RE2 engine takes them, checked where the manifest wrote them.

Python's ``re`` accepts more than RE2 (lookaround, backreferences, atomic groups, possessive
quantifiers; linkerd2-proxy's Rust ``regex`` crate refuses them too), so such a pattern is a
located error here rather than a route that silently differs from the proxy's.
"""

from __future__ import annotations

import re

from .nodes import Node

# Python's re accepts these, RE2 (Envoy's safe_regex) does not.
_NOT_RE2 = (
    (re.compile(r"\(\?<?[=!]"), "lookaround assertions"),
    (re.compile(r"\\[1-9]"), "backreferences"),
    (re.compile(r"\(\?P=|\\g<"), "backreferences"),
    (re.compile(r"\(\?>"), "atomic groups"),
    (re.compile(r"(?<!\\)[*+?}]\+"), "possessive quantifiers"),
)


def check_regex(node: Node) -> None:
    """A regex Envoy's RE2 engine would accept; anything else is a located error."""
    pattern = node.string()
    for marker, what in _NOT_RE2:
        if marker.search(pattern):
            raise node.error(f"regex {pattern!r} uses {what}, which RE2 (Envoy) does not support")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise node.error(f"regex {pattern!r} does not compile: {exc}") from None
