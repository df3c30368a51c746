"""A pod whose app calls some dependencies through its own SDK client (``client:`` on a call).

A subclass of :class:`~meshsim.sim.pod.Pod` used only for deployments with such calls, so a
pod without them runs the compiled hot path exactly as before. Each pod holds one client per
dependency and policy (its own retry quota and breaker, as each pod runs its own SDK); each
try is a call row of its own, tied to the dependency call it tries
(``Recording.dependency_tries``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from meshsim.model import Call as CallSpec
from meshsim.model import CallStep
from meshsim.model.clients import ClientPolicy
from meshsim.sim.client.app import AppClient
from meshsim.sim.messages import Attempt, Call, is_ok
from meshsim.sim.pod import Pod
from meshsim.sim.sampling import uniform

if TYPE_CHECKING:
    from meshsim.sim.ports import ControlPlane


class AppPod(Pod):
    """A pod whose handler retries (hedges, breaks) some of its own downstream calls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.apps: dict[tuple[str, ClientPolicy], AppClient] = {}

    def _launch(self, att: Attempt, step: CallStep, sent: list[Call]) -> None:
        if not isinstance(step, CallSpec) or step.client is None:
            super()._launch(att, step, sent)  # fan-out recurses back here
            return
        if step.probability < 1.0 and self.call_roll() >= step.probability:
            return
        parent = att.call
        headers = parent.headers
        if step.headers:
            headers = {**headers, **step.headers}
        deadline = parent.deadline if self.sim.propagate_deadlines else None
        att.pending += 1  # before sending: the answer may come back inside call()
        app = self._app(step.service, step.client)
        request = app.call(att, step, headers, deadline,
                           partial(self._dependency_done, att, step.optional))
        sent.append(request)  # type: ignore[arg-type]  # has .done and .id, as a Call

    def _app(self, service: str, policy: ClientPolicy) -> AppClient:
        apps = self.apps
        app = apps.get((service, policy))
        if app is None:
            streams = cast("ControlPlane", self.sim).streams  # the engine's, as the wiring's
            roll = uniform(streams.get(f"app-client/{self.name}/{service}"))
            app = apps[(service, policy)] = AppClient(self.sim, policy, service, 0.0, roll)
        return app

    def _dependency_done(self, att: Attempt, optional: bool, status: int) -> None:
        """The app's last word on a dependency call (after its retries): as a plain call's
        answer in :meth:`Pod._on_call_done`."""
        if att.dead:
            return
        if not is_ok(status) and not optional:
            att.failed_call = True
        att.pending -= 1
        if att.pending == 0:
            if att.failed_call:
                self.finish(att, 500)
            else:
                self._next_step(att)


def has_app_client(steps: tuple[CallStep, ...]) -> bool:
    """Whether any of a handler's calls (fan-out included) goes through an app client."""
    for step in steps:
        if isinstance(step, CallSpec):
            if step.client is not None:
                return True
        elif has_app_client(step.calls):
            return True
    return False
