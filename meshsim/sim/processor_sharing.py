"""Processor sharing: a pod's started requests share its cores equally instead of queueing.

With ``n`` jobs on ``cores`` cores each progresses at ``min(1, cores / n)`` (egalitarian PS,
the ``processor-sharing`` contention model). Time in the system then depends on the mean
service time only, not on its distribution, which tests/oracle checks. One timer is armed
for the job that finishes first; every arrival or departure re-arms it with a new token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from meshsim.sim.kernel import call_later

if TYPE_CHECKING:
    from meshsim.sim.kernel import Kernel, Wake
    from meshsim.sim.messages import Attempt


class ProcessorSharing:
    """The shared jobs of one pod; ``done`` is called for each job whose work is over."""

    def __init__(
        self, env: Kernel, cores: int, done: Callable[[Attempt], None]
    ) -> None:
        self.env = env
        self.cores = cores
        self.jobs: list[Attempt] = []
        self._done = done
        self._last = 0.0
        self._token = 0

    def _rate(self) -> float:
        n = len(self.jobs)
        return 1.0 if n <= self.cores else self.cores / n

    def advance(self, now: float) -> None:
        """Charge every job the work done since the last change, at the rate of that time."""
        if self.jobs:
            done = (now - self._last) * self._rate()
            for job in self.jobs:
                job.remaining -= done
        self._last = now

    def add(self, att: Attempt, work: float, now: float) -> None:
        self.advance(now)
        att.remaining = work
        self.jobs.append(att)
        self._schedule()

    def resize(self, cores: int, now: float) -> None:
        """New code on the pod (a promotion): work so far counts at the old number of cores,
        the jobs left finish at the new one."""
        self.advance(now)
        self.cores = cores
        if self.jobs:
            self._schedule()

    def clear(self) -> None:
        """The pod crashed: its jobs are lost and the armed timer is void."""
        self.jobs.clear()
        self._token += 1

    def _schedule(self) -> None:
        self._token += 1
        if self.jobs:
            first = min(job.remaining for job in self.jobs)
            delay = max(0.0, first) / self._rate()
            call_later(self.env, delay, self._on_tick, self._token)

    def _on_tick(self, ev: Wake) -> None:
        if ev.value != self._token:
            return  # superseded by a later arrival or departure
        self.advance(self.env.now)
        finished = [job for job in self.jobs if job.remaining <= 1e-12]
        self.jobs = [job for job in self.jobs if job.remaining > 1e-12]
        self._schedule()
        for job in finished:
            self._done(job)
