"""From spans to what each service does per request: invocations, their calls, self time.

An *invocation* is a server span (a request a service answered). Its *calls* are the client
spans under it (through the service's own internal spans), one logical call per callee with
its retries folded in (a client span with ``http.request.resend_count`` > 0 is a retry of the
call before it), or, where the caller has no client spans, the callee's server span itself.
Calls that overlap in time run in parallel; the others one after another. Self time is the
invocation's duration minus the time covered by its calls.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from meshsim.importers.spans import Kind, Span


@dataclass
class Call:
    """One logical downstream call: the callee and what its attempts looked like."""

    callee: str
    start: float
    end: float
    ok: bool
    method: str | None
    path: str | None
    attempts: int = 1
    external: bool = False  # no server span answered: a service outside the traces
    gap: float | None = None  # client span minus server span: the wire, when both are known


@dataclass
class Invocation:
    server: Span
    calls: list[Call] = field(default_factory=list)

    @property
    def self_time(self) -> float:
        start, end = self.server.start, self.server.end
        covered, reach = 0.0, start
        for call in sorted(self.calls, key=lambda c: c.start):
            lo, hi = max(call.start, reach), min(call.end, end)
            if hi > lo:
                covered += hi - lo
                reach = hi
        return max(0.0, (end - start) - covered)

    @property
    def own_error(self) -> bool:
        """Failed by itself: an error answer with no failed call to blame."""
        return self.server.error and all(c.ok for c in self.calls)


@dataclass
class Graph:
    invocations: list[Invocation]
    roots: list[tuple[Span, Span | None]]  # (first root span of a trace, its server child)
    external: dict[str, list[Call]]  # callee without server spans → its calls


def build(spans: list[Span]) -> Graph:
    spans = infer_kinds(spans)
    by_id = {(s.trace, s.span_id): s for s in spans}
    children: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for span in spans:
        if span.parent is not None and (span.trace, span.parent) in by_id:
            children[(span.trace, span.parent)].append(span)
    invocations = [Invocation(s, _calls(s, children)) for s in spans if s.kind == "server"]
    external: dict[str, list[Call]] = defaultdict(list)
    for invocation in invocations:
        for call in invocation.calls:
            if call.external:
                external[call.callee].append(call)
    return Graph(invocations, _roots(spans, by_id, children), dict(external))


def infer_kinds(spans: list[Span]) -> list[Span]:
    """Spans that do not say their kind (Jaeger spans without ``span.kind``, Zipkin-style
    instrumentation): a root span, or one whose parent is another service's, is a server span
    (tracing starts at the first instrumented server); one under its own service's is
    internal."""
    if all(s.kind != "unspecified" for s in spans):
        return spans
    by_id = {(s.trace, s.span_id): s for s in spans}
    out = []
    for span in spans:
        if span.kind != "unspecified":
            out.append(span)
            continue
        parent = by_id.get((span.trace, span.parent)) if span.parent else None
        kind: Kind = "internal" if parent is not None and parent.service == span.service \
            else "server"
        out.append(replace(span, kind=kind))
    return out


def _roots(spans: list[Span], by_id: dict[tuple[str, str], Span],
           children: dict[tuple[str, str], list[Span]]) -> list[tuple[Span, Span | None]]:
    """Per trace, its earliest root span, and the server span answering it if it is a call."""
    first: dict[str, Span] = {}
    for span in spans:
        if span.parent is None or (span.trace, span.parent) not in by_id:
            known = first.get(span.trace)
            if known is None or span.start < known.start:
                first[span.trace] = span
    out = []
    for root in first.values():
        server = root if root.kind == "server" else next(
            (c for c in _below(root, children) if c.kind == "server"), None)
        out.append((root, server))
    return out


def _below(span: Span, children: dict[tuple[str, str], list[Span]]) -> list[Span]:
    return children.get((span.trace, span.span_id), [])


def _calls(server: Span, children: dict[tuple[str, str], list[Span]]) -> list[Call]:
    """The invocation's logical calls, in order of start."""
    clients: list[Span] = []
    direct: list[Span] = []
    stack = list(_below(server, children))
    while stack:
        span = stack.pop()
        if span.kind == "client":
            clients.append(span)
        elif span.kind == "server" or span.service != server.service:
            direct.append(span)  # a callee traced without the caller's client span
        else:
            stack.extend(_below(span, children))  # the handler's own internal spans
    calls: list[Call] = []
    for client in sorted(clients, key=lambda s: (s.start, s.resend)):
        answer = next((c for c in _below(client, children) if c.kind == "server"), None)
        _add_attempt(calls, client, answer)
    for span in direct:
        calls.append(Call(span.service, span.start, span.end, not span.error, span.method,
                          span.path))
    return sorted(calls, key=lambda c: c.start)


def _add_attempt(calls: list[Call], client: Span, answer: Span | None) -> None:
    callee = answer.service if answer is not None else _service_of_host(client.peer)
    if callee is None:
        return  # a client span that says neither who answered nor whom it called
    gap = client.duration - answer.duration if answer is not None else None
    if client.resend > 0:
        earlier = [c for c in calls if c.callee == callee]
        if earlier:
            call = earlier[-1]
            call.end = max(call.end, client.end)
            call.ok = not client.error
            call.attempts += 1
            return
    calls.append(Call(callee, client.start, client.end, not client.error, client.method,
                      client.path, external=answer is None, gap=gap))


def _service_of_host(host: str | None) -> str | None:
    """``reviews``, ``reviews:9080``, ``reviews.prod.svc.cluster.local`` → ``reviews``."""
    if not host:
        return None
    name = host.split("//")[-1].split("/")[0].rsplit(":", 1)[0]
    if name.endswith(".svc.cluster.local") or name.count(".") == 1:
        return name.split(".")[0]
    return name
