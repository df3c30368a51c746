"""The recorder's row layouts, and the compiled build's block writers for them.

The pure build packs a row into bytes with one ``struct`` call (``Table.pack``): the
cheapest row in interpreted Python. Compiled, that call would box every value the proxy
holds in C only for ``struct`` to unbox it again; the writers here store each value straight
into its column of the table's current block instead (typed memoryviews, ``rows.pxd``): no
Python object per row. :class:`~meshsim.metrics.columns.Table` moves a full block to its
columns and its sinks as it moves the packed bytes, after the same rows.
"""

from __future__ import annotations

import numpy as np

# typecodes: q int64, i int32, h int16, b int8, d float64 (standard sizes, no padding)
ATTEMPTS = {
    "request_id": "q", "call_id": "q", "caller": "i", "service": "i", "subset": "i", "pod": "i",
    "attempt": "h", "start": "d", "end": "d", "status": "h", "flags": "i", "retry": "b",
    "mirror": "b",
}
CALLS = {
    "call_id": "q", "request_id": "q", "caller": "i", "service": "i", "subset": "i",
    "start": "d", "end": "d", "status": "h", "flags": "i", "attempts": "h", "depth": "h",
    "mirror": "b",
}


class Rows:
    """One block of rows, a preallocated array per column, filled from the first row."""

    def __init__(self, schema: dict[str, str], size: int) -> None:
        self.filled = 0
        self.size = size
        self.block = {name: np.zeros(size, dtype="=" + code) for name, code in schema.items()}

    def take(self) -> dict[str, np.ndarray]:
        """The rows filled so far, each column its own copy; the block starts again empty."""
        n = self.filled
        self.filled = 0
        return {name: column[:n].copy() for name, column in self.block.items()}


class AttemptRows(Rows):
    """A block of :data:`ATTEMPTS` rows."""

    def __init__(self, size: int) -> None:
        super().__init__(ATTEMPTS, size)
        block = self.block
        self.request_id, self.call_id = block["request_id"], block["call_id"]
        self.caller, self.service = block["caller"], block["service"]
        self.subset, self.pod, self.attempt = block["subset"], block["pod"], block["attempt"]
        self.start, self.end = block["start"], block["end"]
        self.status, self.flags = block["status"], block["flags"]
        self.retry, self.mirror = block["retry"], block["mirror"]

    def put(  # noqa: PLR0913 - one positional per column, as Recorder.attempt
        self, request_id: int, call_id: int, caller: int, service: int, subset: int, pod: int,
        attempt: int, start: float, end: float, status: int, flags: int, retry: bool,
        mirror: bool,
    ) -> bool:
        """Append one row; True when the block is full."""
        n = self.filled
        self.request_id[n] = request_id
        self.call_id[n] = call_id
        self.caller[n] = caller
        self.service[n] = service
        self.subset[n] = subset
        self.pod[n] = pod
        self.attempt[n] = attempt
        self.start[n] = start
        self.end[n] = end
        self.status[n] = status
        self.flags[n] = flags
        self.retry[n] = retry
        self.mirror[n] = mirror
        self.filled = n = n + 1
        return n >= self.size


class CallRows(Rows):
    """A block of :data:`CALLS` rows."""

    def __init__(self, size: int) -> None:
        super().__init__(CALLS, size)
        block = self.block
        self.call_id, self.request_id = block["call_id"], block["request_id"]
        self.caller, self.service, self.subset = block["caller"], block["service"], block["subset"]
        self.start, self.end = block["start"], block["end"]
        self.status, self.flags = block["status"], block["flags"]
        self.attempts, self.depth, self.mirror = block["attempts"], block["depth"], block["mirror"]

    def put(  # noqa: PLR0913 - one positional per column, as Recorder.call
        self, call_id: int, request_id: int, caller: int, service: int, subset: int,
        start: float, end: float, status: int, flags: int, attempts: int, depth: int,
        mirror: bool,
    ) -> bool:
        """Append one row; True when the block is full."""
        n = self.filled
        self.call_id[n] = call_id
        self.request_id[n] = request_id
        self.caller[n] = caller
        self.service[n] = service
        self.subset[n] = subset
        self.start[n] = start
        self.end[n] = end
        self.status[n] = status
        self.flags[n] = flags
        self.attempts[n] = attempts
        self.depth[n] = depth
        self.mirror[n] = mirror
        self.filled = n = n + 1
        return n >= self.size
