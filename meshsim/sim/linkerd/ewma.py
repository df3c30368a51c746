"""Peak-EWMA load and power-of-two-choices endpoint selection.

``PeakEwma`` follows tower's ``tower/src/load/peak_ewma.rs`` (``RttEstimate::update``/``decay``,
``Load::load``); ``P2C`` follows ``linkerd/pool/p2c/src/lib.rs`` (``p2c_ready_index``,
``gen_pair``) in linkerd/linkerd2-proxy. See reference/linkerd.md §4.1–§4.3 and C12.
Times are whole nanoseconds internally and the estimate is an f64 of nanoseconds, so the
arithmetic (and C12's exact 400 ms / 200 ms) matches tower bit for bit. The whole nanoseconds
are held in floats (:func:`_ns`): every value ``round`` gives here is a float exactly, and a
float difference of two of them is the int difference correctly rounded, which is what
``float(a - b)`` gave; as floats the compiled build computes them in C.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

H = TypeVar("H", bound=Hashable)

_NS = 1_000_000_000
_TWO_52 = 4503599627370496.0  # 2**52: from here on every float is a whole number
DEFAULT_RTT = 0.030  # Linkerd's BALANCER_DEFAULT_RTT / DEFAULT_EWMA (tower's own doc says 1 s)
DEFAULT_DECAY = 10.0  # BALANCER_RTT_DECAY


def _ns(seconds: float) -> float:
    """``round(seconds * 1e9)`` as a float, ties to even like ``round``, in float arithmetic:
    adding 2**52 leaves no fraction bits, so the addition itself rounds (two C additions in
    the compiled build, where ``round`` is a Python call)."""
    x = seconds * _NS
    if x >= _TWO_52 or x <= -_TWO_52:
        return x
    if x >= 0.0:
        return (x + _TWO_52) - _TWO_52
    return -((_TWO_52 - x) - _TWO_52)


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

    def _update(self, rtt_ns: float, now_ns: float) -> float:
        if self.rtt_ns < rtt_ns:
            self.rtt_ns = rtt_ns  # peak: jump to the worst case
        else:
            elapsed = now_ns - self.update_at_ns
            if elapsed < 0.0:
                elapsed = 0.0
            decay = math.exp(-elapsed / self.decay_ns)  # libm's exp in both builds
            recency = 1.0 - decay
            self.rtt_ns = (self.rtt_ns * decay) + (rtt_ns * recency)
        self.update_at_ns = now_ns
        return self.rtt_ns

    def load_ns(self, now: float) -> float:
        """tower's ``Cost``: decayed estimate (ns) × (pending + 1); mutates the estimate."""
        estimate = self._update(0.0, _ns(now))
        return estimate * (self.pending + 1)

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
        self._update(_ns(rtt), _ns(now))
        self.pending -= 1


def gen_pair(rand: Callable[[], float], length: int) -> tuple[int, int]:
    """Two distinct uniform indices: a in [0, n), b in [0, n-1) shifted past a."""
    assert length >= 2
    r = rand()
    aidx = int(r * length)
    if aidx > length - 1:
        aidx = length - 1
    r = rand()
    bidx = int(r * (length - 1))
    if bidx > length - 2:
        bidx = length - 2
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
