"""Which backend of a route a request goes to: weighted random among the ready ones.

After ``linkerd/distribute/src/service/random.rs`` in linkerd/linkerd2-proxy (reference/linkerd.md
§6.1–§6.2, C13): one backend takes everything whatever its weight; with two or more, the draw
is weighted and only backends whose queue takes requests (:meth:`.pool.BackendPool.is_ready`)
are drawn. meshsim draws once among the ready backends, where upstream redraws after zeroing
an unready backend's weight; when none is ready the request goes to one anyway, whose queue
then sheds it (503) or holds it, so the answer still names that backend's service.
ServiceProfile ``dstOverrides`` become a route's backends in the translator
(:meth:`meshsim.config.linkerd.profiles.Profile.policy_routes`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

B = TypeVar("B")


def pick_backend(
    weighted: Sequence[tuple[float, B]], ready: Callable[[B], bool], roll: Callable[[], float]
) -> B | None:
    """Weighted random among ready backends (none ready: among all); ``None`` if there are none.

    ``roll`` returns a uniform float in [0, 1); it is drawn only when there is a choice.
    """
    if len(weighted) <= 1:  # one backend takes everything, ready or not: no draw
        return weighted[0][1] if weighted else None
    pool = [(w, b) for w, b in weighted if ready(b)] or list(weighted)
    if len(pool) == 1:
        return pool[0][1]
    total = sum(w for w, _ in pool)
    if total <= 0:
        return pool[0][1]
    x = roll() * total
    for w, backend in pool:
        x -= w
        if x < 0:
            return backend
    return next((b for w, b in reversed(pool) if w > 0), pool[-1][1])
