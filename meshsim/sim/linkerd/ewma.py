"""Peak-EWMA load and power-of-two-choices endpoint selection.

``PeakEwma`` follows tower's ``tower/src/load/peak_ewma.rs`` (``RttEstimate::update``/``decay``,
``Load::load``); ``P2C`` follows ``linkerd/pool/p2c/src/lib.rs`` (``p2c_ready_index``,
``gen_pair``) in linkerd/linkerd2-proxy. See reference/linkerd.md §4.1–§4.3 and C12.
Times are integer nanoseconds internally and the estimate is an f64 of nanoseconds, so the
arithmetic (and C12's exact 400 ms / 200 ms) matches tower bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from math import exp
from typing import TypeVar

H = TypeVar("H", bound=Hashable)

_NS = 1_000_000_000
DEFAULT_RTT = 0.030  # Linkerd's BALANCER_DEFAULT_RTT / DEFAULT_EWMA (tower's own doc says 1 s)
DEFAULT_DECAY = 10.0  # BALANCER_RTT_DECAY


def _ns(seconds: float) -> int:
    return round(seconds * _NS)


class PeakEwma:
    """One endpoint's RTT estimate plus its count of in-flight (pending) requests.

    The engine calls :meth:`start` at dispatch and :meth:`finish` when the RTT sample ends
    (Linkerd's ``PendingUntilFirstData``: first response body frame, or headers at EOS).
    Reading the load (:meth:`load_ns`, :meth:`cost`) also decays the estimate, as in tower.
    """

    def __init__(
        self, default_rtt: float = DEFAULT_RTT, decay: float = DEFAULT_DECAY, *, now: float = 0.0
    ) -> None:
        assert default_rtt > 0 and decay > 0
        self.decay_ns = float(_ns(decay))
        self.rtt_ns = float(_ns(default_rtt))
        self.update_at_ns = _ns(now)
        self.pending = 0

    def _update(self, rtt_ns: float, now_ns: int) -> float:
        if self.rtt_ns < rtt_ns:
            self.rtt_ns = rtt_ns  # peak: jump to the worst case
        else:
            elapsed = float(max(0, now_ns - self.update_at_ns))
            decay = exp(-elapsed / self.decay_ns)
            recency = 1.0 - decay
            self.rtt_ns = (self.rtt_ns * decay) + (rtt_ns * recency)
        self.update_at_ns = now_ns
        return self.rtt_ns

    def load_ns(self, now: float) -> float:
        """tower's ``Cost``: decayed estimate (ns) × (pending + 1); mutates the estimate."""
        estimate = self._update(0.0, _ns(now))
        return estimate * float(self.pending + 1)

    def cost(self, now: float) -> float:
        """:meth:`load_ns` in seconds."""
        return self.load_ns(now) / _NS

    def estimate(self) -> float:
        """Current RTT estimate in seconds, without touching it."""
        return self.rtt_ns / _NS

    def start(self, now: float) -> float:
        """A request was dispatched: one more pending. Returns ``now`` (the sample's start)."""
        self.pending += 1
        return now

    def finish(self, now: float, rtt: float) -> None:
        """The RTT sample ended at ``now`` after ``rtt`` seconds (tower's ``Handle`` drop)."""
        assert self.pending > 0, "finish without start"
        self._update(float(_ns(rtt)), _ns(now))
        self.pending -= 1


def gen_pair(rand: Callable[[], float], length: int) -> tuple[int, int]:
    """Two distinct uniform indices: a in [0, n), b in [0, n-1) shifted past a."""
    assert length >= 2
    aidx = min(int(rand() * length), length - 1)
    bidx = min(int(rand() * (length - 1)), length - 2)
    if bidx >= aidx:
        bidx += 1
    return aidx, bidx


class P2C:
    """Power of two choices over the *ready* endpoints; ``rand`` returns a float in [0, 1)."""

    def __init__(self, rand: Callable[[], float]) -> None:
        self._rand = rand

    def pair(self, length: int) -> tuple[int, int]:
        """The two distinct indices among ``length`` ready endpoints (:func:`gen_pair`)."""
        return gen_pair(self._rand, length)

    def pick(self, ready: Sequence[H], load: Callable[[H], float]) -> H | None:
        """0 ready: ``None`` (wait); 1: it, no load read; else the lower load, ties to a."""
        if not ready:
            return None
        if len(ready) == 1:
            return ready[0]
        aidx, bidx = self.pair(len(ready))
        aload = load(ready[aidx])
        bload = load(ready[bidx])
        return ready[aidx] if aload <= bload else ready[bidx]
