"""Argo ``successCondition`` / ``failureCondition`` trees evaluated on one measured value."""

from __future__ import annotations

import operator
from collections.abc import Callable

from meshsim.model.rollout import AllOf, AnyOf, Compare, Condition, Not

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


def holds(condition: Condition, value: float) -> bool:
    """Whether ``condition`` is true of ``value`` (NaN compares false, as in Argo's expr)."""
    if isinstance(condition, Compare):
        return _OPS[condition.op](value, condition.threshold)
    if isinstance(condition, AllOf):
        return all(holds(part, value) for part in condition.parts)
    if isinstance(condition, AnyOf):
        return any(holds(part, value) for part in condition.parts)
    if isinstance(condition, Not):
        return not holds(condition.part, value)
    raise TypeError(f"unknown condition {condition!r}")


def render(condition: Condition) -> str:
    """A compact, space-free text of the condition (``result>=0.95&&result<1``) for events."""
    if isinstance(condition, Compare):
        return f"result{condition.op}{condition.threshold:g}"
    if isinstance(condition, AllOf):
        return "(" + "&&".join(render(p) for p in condition.parts) + ")"
    if isinstance(condition, AnyOf):
        return "(" + "||".join(render(p) for p in condition.parts) + ")"
    if isinstance(condition, Not):
        return "!" + render(condition.part)
    raise TypeError(f"unknown condition {condition!r}")
