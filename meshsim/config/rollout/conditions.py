"""Argo analysis conditions (``successCondition``, ``failureCondition``) → :data:`Condition`.

Argo evaluates these with the expr language on ``result``, the query's value (a vector for
Prometheus). meshsim reads the subset users write: comparisons of ``result`` / ``result[0]``
(optionally wrapped in ``asFloat``/``float``) with a number, ``&&``, ``||``, ``!``, parentheses,
``isNaN(result)`` and ``len(result) == 0``. The engine hands the conditions NaN for a vector of
one NaN (a series with no requests in the window: 0/0), so ``isNaN`` is "not ``>= -inf``" (NaN
compares false with everything), and -inf for an empty vector (no series), so
``len(result) == 0`` is ``== -inf`` and ``len(result) > 0`` is ``!= -inf`` ([NaN] has one
element). A Prometheus
query meshsim reads always returns a vector, and comparing the bare ``result`` (a list) with a
number does not compile in Argo's expr: every measurement would be an Error
(argo-rollouts#363, whose docs now write ``result[0]``), so it is refused.
"""

from __future__ import annotations

import math
import re

from meshsim.config.manifest.nodes import Node
from meshsim.model.rollout import AllOf, AnyOf, Compare, CompareOp, Condition, Not

SHAPES = (
    "result[0] >= 0.95, result < 0.5 (a comparison of result or result[0] with a number), "
    "&&, ||, !, parentheses, isNaN(result), len(result) == 0"
)
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|(?P<op>&&|\|\||==|!=|<=|>=|<|>|!|\(|\))"
    r"|(?P<value>(?:asFloat|float)\(\s*result(?:\[0\])?\s*\)|result(?:\[0\])?)"
    r"|(?P<nan>isNaN\(\s*(?:result(?:\[0\])?|(?:asFloat|float)\(\s*result(?:\[0\])?\s*\))\s*\))"
    r"|(?P<len>len\(\s*result\s*\)))"
)
_FLIP: dict[str, CompareOp] = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
HAS_DATA: Condition = Compare(">=", -math.inf)  # false for NaN (isNaN) and for -inf
EMPTY: Condition = Compare("==", -math.inf)  # len(result) == 0: the empty vector only
NON_EMPTY: Condition = Compare("!=", -math.inf)  # len(result) > 0, NaN included


class _Unknown(Exception):
    def __init__(self, near: str) -> None:
        super().__init__(near)
        self.near = near


def parse_condition(node: Node, *, vector: bool = False) -> Condition | None:
    """The condition written at ``node`` (None when absent); a located error when unreadable,
    or when ``vector`` (the query returns one) and it compares the bare ``result``."""
    if not node.present:
        return None
    text = node.string().strip()
    try:
        tokens = _tokens(text)
        condition = _Parser(tokens).parse()
    except _Unknown as exc:
        raise node.error(
            f"cannot read condition {text!r} (near {exc.near!r}); meshsim understands {SHAPES}"
        ) from None
    bare = next((t for k, t in tokens if k == "value" and "[" not in t), None)
    if vector and bare is not None:
        raise node.error(
            f"{bare!r} in {text!r} is the query's vector, not a number: Argo's expr cannot "
            "compare it, so every measurement would end Error; write result[0]")
    return condition


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _Unknown(text[position:position + 20])
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind).strip()))
        position = match.end()
    return out


class _Parser:
    """Recursive descent: or := and ('||' and)*; and := unary ('&&' unary)*."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def parse(self) -> Condition:
        if not self.tokens:
            raise _Unknown("")
        condition = self._or()
        if self.at != len(self.tokens):
            raise _Unknown(self.tokens[self.at][1])
        return condition

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        self.at += 1
        return token

    def _or(self) -> Condition:
        parts = [self._and()]
        while self._peek() == ("op", "||"):
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def _and(self) -> Condition:
        parts = [self._unary()]
        while self._peek() == ("op", "&&"):
            self._take()
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def _unary(self) -> Condition:
        kind, text = self._peek()
        if (kind, text) == ("op", "!"):
            self._take()
            return Not(self._unary())
        if (kind, text) == ("op", "("):
            self._take()
            inner = self._or()
            if self._take() != ("op", ")"):
                raise _Unknown(text)
            return inner
        if kind == "nan":
            self._take()
            return Not(HAS_DATA)
        if kind == "len":
            return self._length()
        return self._compare()

    def _compare(self) -> Condition:
        left, op, right = self._take(), self._take(), self._take()
        if op[0] != "op" or op[1] not in _FLIP:
            raise _Unknown(op[1])
        if left[0] == "value" and right[0] == "num":
            return Compare(op[1], float(right[1]))  # type: ignore[arg-type]
        if left[0] == "num" and right[0] == "value":
            return Compare(_FLIP[op[1]], float(left[1]))
        raise _Unknown(left[1])

    def _length(self) -> Condition:
        """``len(result) == 0`` is the empty vector; ``len(result) > 0`` / ``!= 0`` / ``>= 1``
        any answer, NaN included."""
        self._take()
        op, number = self._take(), self._take()
        if number[0] != "num" or op[0] != "op":
            raise _Unknown(number[1])
        value = float(number[1])
        empty = {("==", 0.0), ("<", 1.0), ("<=", 0.0)}
        some = {("!=", 0.0), (">", 0.0), (">=", 1.0)}
        if (op[1], value) in empty:
            return EMPTY
        if (op[1], value) in some:
            return NON_EMPTY
        raise _Unknown(f"len(result) {op[1]} {number[1]}")
