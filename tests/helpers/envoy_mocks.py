"""Test doubles mirroring the mocks Envoy's own unit tests use."""

from __future__ import annotations


class Pinned:
    """Envoy's ``MockRandomGenerator``: ``WillOnce(Return(v))``... then ``WillRepeatedly``.

    Returns ``values`` in order, then ``repeat`` forever; ``calls`` counts draws.
    """

    def __init__(self, *values: int, repeat: int = 0) -> None:
        self._values = list(values)
        self._repeat = repeat
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self._values:
            return self._values.pop(0)
        return self._repeat

    def set(self, *values: int, repeat: int | None = None) -> None:
        """Queue more one-shot values (and optionally change the repeated one)."""
        self._values.extend(values)
        if repeat is not None:
            self._repeat = repeat
