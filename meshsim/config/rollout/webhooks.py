"""Flagger ``analysis.webhooks`` → the load tester's traffic, and named warnings for the rest.

Flagger calls ``rollout`` hooks (the default type) in ``runAnalysis`` on every tick that runs
the analysis, before the metric checks, and ``pre-rollout`` hooks on the first tick
(``scheduler.go``). flagger-loadtester answers a ``cmd`` task (``metadata.type`` unset or
``cmd``) at once and queues it; its runner starts queued commands within 100 ms unless the same
command of the same canary is still running (``runner.go``). So ``hey -z 1m -q 10 -c 2 URL`` on
a 1m interval is a continuous load from the second tick on, and the check on the tick that
starts it sees none of it yet. The load tester's pod is injected: its requests leave through a
sidecar, to the URL's host: ``<apex>-canary``/``-primary`` straight to that version (Flagger's
Services of those names), the apex through the routes Flagger owns, a gateway host through
that gateway.

The calls are placed statically on the ticks of an uninterrupted analysis: the strategy's own
ticks plus ``threshold - 1`` ticks of failed checks (the longest analysis that still promotes).
After an earlier promotion or rollback the modelled load tester runs on to that end.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from meshsim.config.fields import did_you_mean
from meshsim.config.manifest.nodes import Node
from meshsim.config.rollout.context import Context, go_duration
from meshsim.config.rollout.hey import HeyRun, Unrecognised, parse_hey
from meshsim.config.rollout.routes import default_route
from meshsim.model.rollout import FlaggerCanary, Version
from meshsim.model.routes import host_matches
from meshsim.model.workload import RateStep, RequestTemplate, Workload

LOAD_TESTER = "flagger-loadtester"
CALLED = ("rollout", "pre-rollout")
GATES = ("confirm-rollout", "confirm-promotion", "confirm-traffic-increase")
HOOK_TYPES = ("rollout", "pre-rollout", "post-rollout", "confirm-rollout", "confirm-promotion",
              "confirm-traffic-increase", "rollback", "event")  # the CRD's enum (HookType)
TASK_TYPES = ("", "cmd")  # flagger-loadtester's asynchronous shell task


@dataclass(frozen=True)
class Aim:
    """Where a load tester's requests go: the workload ``target`` and the ``host`` they name."""

    target: str
    host: str | None = None


def translate_webhooks(analysis: Node, canary: FlaggerCanary, apex: str, namespace: str,
                       ctx: Context) -> None:
    """Load-test hooks become workloads in ``ctx.workloads``; every other hook a warning."""
    for index, hook in enumerate(analysis["webhooks"].items()):
        kind = _checked(hook)
        name = hook["name"].string() or hook["url"].string()
        cmd = hook["metadata"]["cmd"]
        if kind in CALLED and cmd.present:
            _load_test(hook, kind, name, index, canary, apex, namespace, ctx)
        elif kind in GATES and _gate(hook) == "approve":
            continue  # flagger-loadtester's /gate/approve always answers 200: approved
        else:
            ctx.diagnostics.warn(hook, f"webhook {name!r} ({kind}) is not run: "
                                 f"{_not_run(hook, kind)}", code="not-run")


def _checked(hook: Node) -> str:
    """The hook's type, after the checks the Canary CRD makes (the API server rejects the rest)."""
    kind = hook["type"].string("rollout") or "rollout"
    if kind not in HOOK_TYPES:
        raise hook["type"].error(f"unknown webhook type {kind!r}{did_you_mean(kind, HOOK_TYPES)} "
                                 f"(expected one of {', '.join(HOOK_TYPES)})")
    for key in ("name", "url"):
        if not hook[key].string():
            raise hook.error(f"a webhook needs {key} (the Canary CRD requires it)")
    go_duration(hook["timeout"], 0.0)
    return kind


def _gate(hook: Node) -> str:
    path = hook["url"].string().split("://", 1)[-1].partition("/")[2].rstrip("/")
    return path.removeprefix("gate/") if path.startswith("gate/") else ""


def _not_run(hook: Node, kind: str) -> str:
    if kind in GATES:
        if _gate(hook) == "halt":
            return ("flagger-loadtester's /gate/halt would hold the canary forever; meshsim takes "
                    "it as approved at once")
        return "it is taken as approved at once"
    if kind == "rollback":
        return "it never asks for a rollback"
    if hook["metadata"]["cmd"].present:
        return "only rollout and pre-rollout commands are modelled (as load); it is taken as " \
               "successful"
    return "it is taken as successful"


def _load_test(hook: Node, kind: str, name: str, index: int, canary: FlaggerCanary, apex: str,
               namespace: str, ctx: Context) -> None:
    cmd = hook["metadata"]["cmd"]
    task = hook["metadata"]["type"].string()
    if task not in TASK_TYPES:
        ctx.diagnostics.warn(hook, f"webhook {name!r} ({kind}) is not run: "
                             f"a {task} task runs synchronously within the webhook timeout, "
                             "which is not modelled; it is taken as successful", code="not-run")
        return
    try:
        run = parse_hey(cmd.string())
    except Unrecognised as exc:
        ctx.diagnostics.warn(cmd, f"webhook {name!r} ({kind}) is not run: {exc}; it is taken "
                             "as successful and its load is not generated", code="not-run")
        return
    tester, tester_ns = _load_tester(hook, namespace)
    aim = _aim(run.url_host, tester_ns, apex, canary, ctx)
    if aim is None:
        ctx.diagnostics.warn(cmd, f"webhook {name!r} ({kind}) is not run: {run.url_host!r} is no "
                             "service of the scenario, no Flagger primary/canary Service and no "
                             "host a Gateway serves", code="not-run")
        return
    if run.body:
        ctx.diagnostics.warn(cmd, "hey -d/-D: request bodies are not modelled (the requests are "
                             "sent, without a payload)", code="unmodelled")
    ticks = [canary.start + canary.interval] if kind == "pre-rollout" else analysis_ticks(canary)
    ctx.workloads.append(_workload(_name(tester, index, ctx), run, aim, runs(ticks, run.duration)))


def _load_tester(hook: Node, namespace: str) -> tuple[str, str]:
    """The load tester's Service name and namespace, from the webhook URL's host."""
    host = hook["url"].string().split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    parts = host.split(".")
    if not parts[0]:
        return LOAD_TESTER, namespace
    return parts[0], parts[1] if len(parts) > 1 else namespace


def _name(tester: str, index: int, ctx: Context) -> str:
    taken = {w.name for w in ctx.workloads}
    return tester if tester not in taken else f"{tester}-hook{index}"


def _aim(host: str, namespace: str, apex: str, canary: FlaggerCanary, ctx: Context) -> Aim | None:
    """Resolve ``host`` as the load tester's pod would (its namespace for short names)."""
    found = ctx.index.resolve(host, namespace)
    if found is not None:
        return Aim(found.service)
    short, _, rest = host.partition(".")
    in_namespace = (rest.split(".")[0] if rest else namespace) == \
        ctx.topology.services[apex].namespace
    versions = {f"{apex}-primary": canary.target.primary, f"{apex}-canary": canary.target.canary}
    version: Version | None = versions.get(short) if in_namespace else None
    if version is not None:
        ctx.routes[short] = (default_route(short, version, ctx.policy),)
        return Aim(version.service, short)
    served = [*ctx.policy.gateways.values()]
    bound = [h for by_host in ctx.gateway_routes.values() for h in by_host]
    if any(host_matches(p, host) for g in served for p in g.routes) or any(
            host_matches(p, host) for p in bound):
        return Aim(host)
    return None


def analysis_ticks(canary: FlaggerCanary) -> list[float]:
    """When ``rollout`` hooks are called: ticks 2 .. (analysis ticks + threshold), or none with
    ``skipAnalysis``."""
    if canary.skip_analysis:
        return []
    if canary.strategy == "canary":
        count = _steps(canary) + (1 if canary.target.mirror_routes else 0)
    elif canary.strategy == "bluegreen":
        count = canary.iterations + 1
    else:
        count = canary.iterations
    last = count + canary.threshold
    return [canary.start + k * canary.interval for k in range(2, last + 1)]


def _steps(canary: FlaggerCanary) -> int:
    """Weight steps from 0 to ``maxWeight`` (the scheduler's ``nextStepWeight``)."""
    weights = canary.step_weights
    top = min(100.0, weights[-1]) if weights else (canary.max_weight or 100.0)
    weight, count = 0.0, 0
    while weight < top and count < 100:
        if canary.step_weight > 0 or not weights:
            step = canary.step_weight
        elif weight == 0:
            step = weights[0]
        else:
            step = next((b - a for a, b in pairwise(weights) if a == weight), 100.0 - weight)
        if step <= 0:
            break
        weight, count = min(100.0, weight + step), count + 1
    return count


def runs(ticks: list[float], duration: float) -> list[tuple[float, float]]:
    """The runner starts a command on a tick unless the same command is still running."""
    out: list[tuple[float, float]] = []
    for tick in ticks:
        if out and tick < out[-1][1]:
            continue
        if out and tick == out[-1][1]:
            out[-1] = (out[-1][0], tick + duration)  # back to back: one continuous load
        else:
            out.append((tick, tick + duration))
    return out


def _workload(name: str, run: HeyRun, aim: Aim, windows: list[tuple[float, float]]) -> Workload:
    schedule = [RateStep(0.0, 0.0)]
    for start, end in windows:
        schedule += [RateStep(start, run.rate), RateStep(end, 0.0)]
    return Workload(
        name=name, target=aim.target, schedule=tuple(schedule), arrival="constant",
        clients=run.workers, timeout=run.timeout,
        requests=(RequestTemplate(run.method, run.path, dict(run.headers)),), host=aim.host,
    )
