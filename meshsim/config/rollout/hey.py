"""A ``hey`` command line (rakyll/hey, what flagger-loadtester runs) → the load it generates.

hey starts ``-c`` workers (default 50); with ``-q`` each worker sends one request per ``1/q``
seconds, waiting for each response, for ``-z`` (or until ``-n`` requests, default 200, are
sent); ``-t`` is the per-request timeout in seconds (default 20, 0 = none). The open-loop model
(constant arrivals at ``c × q`` per second, the workers taken in turn) matches hey while a
response takes less than ``1/q``. Without ``-q`` hey is a closed loop as fast as responses
return, which meshsim's workloads cannot express.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from meshsim.config.manifest.durations import parse_istio_duration
from meshsim.errors import UnitError

VALUED = frozenset("zqcnmHdDTAatox") | {"host", "cpus"}
IGNORED = {  # no effect on what meshsim models
    "o": "output format", "cpus": "client CPUs", "h2": "HTTP/2",
    "disable-compression": "compression", "disable-keepalive": "keep-alive",
    "disable-redirects": "redirects",
}


class Unrecognised(ValueError):
    """The command is not one hey run meshsim can translate; the message says why."""


@dataclass(frozen=True)
class HeyRun:
    url_host: str  # the host requests name (``-host`` or the URL's)
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    workers: int = 50
    qps: float = 0.0  # per worker
    duration: float = 0.0  # seconds one run lasts
    timeout: float = 20.0
    body: bool = False  # -d / -D: a request body (not modelled)

    @property
    def rate(self) -> float:
        return self.workers * self.qps


def parse_hey(command: str) -> HeyRun:
    """The run ``command`` starts, or :class:`Unrecognised`."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise Unrecognised(f"cannot split the command: {exc}") from None
    if not argv or argv[0].rsplit("/", 1)[-1] != "hey":
        raise Unrecognised("only hey commands generate modelled load")
    flags, url = _flags(argv[1:])
    return _run(flags, url)


def _flags(args: list[str]) -> tuple[dict[str, list[str]], str]:
    flags: dict[str, list[str]] = {}
    url = ""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            if url or i < len(args):
                raise Unrecognised(f"unexpected argument {arg!r} (hey takes flags, then the URL; "
                                   "shell operators and pipes are not modelled)")
            url = arg
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if name in IGNORED:
            continue
        if name not in VALUED:
            raise Unrecognised(f"hey flag -{name} is not modelled")
        if not eq:
            if i >= len(args):
                raise Unrecognised(f"hey flag -{name} needs a value")
            value = args[i]
            i += 1
        flags.setdefault(name, []).append(value)
    if not url:
        raise Unrecognised("the command names no URL")
    return flags, url


def _run(flags: dict[str, list[str]], url: str) -> HeyRun:
    if "x" in flags:
        raise Unrecognised("hey -x (an HTTP proxy) is not modelled")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unrecognised(f"{url!r} is not an http(s) URL")
    workers = _number(flags, "c", 50.0, int)
    qps = _number(flags, "q", 0.0, float)
    if workers < 1:
        raise Unrecognised("hey -c must be at least 1")
    if qps <= 0:
        raise Unrecognised("hey without -q sends as fast as responses return (a closed loop), "
                           "which meshsim's open-loop workloads do not model")
    if "z" in flags:
        duration = _duration(flags["z"][-1])
    else:
        duration = _number(flags, "n", 200.0, int) / (workers * qps)
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (h.partition(":") for h in flags.get("H", []))}
    for flag, header in (("T", "content-type"), ("A", "accept"), ("a", "authorization")):
        if flag in flags:
            headers[header] = flags[flag][-1]
    path = parts.path or "/"
    return HeyRun(
        url_host=flags["host"][-1] if "host" in flags else parts.hostname,
        path=f"{path}?{parts.query}" if parts.query else path,
        method=flags.get("m", ["GET"])[-1].upper(),
        headers=headers,
        workers=int(workers),
        qps=qps,
        duration=duration,
        timeout=_number(flags, "t", 20.0, int),
        body="d" in flags or "D" in flags,
    )


def _number(flags: dict[str, list[str]], name: str, default: float, kind: type) -> float:
    if name not in flags:
        return default
    try:
        return float(kind(flags[name][-1]))
    except ValueError:
        raise Unrecognised(f"hey -{name} {flags[name][-1]!r} is not a number") from None


def _duration(text: str) -> float:
    try:
        seconds = parse_istio_duration(text)
    except UnitError:
        raise Unrecognised(f"hey -z {text!r} is not a Go duration") from None
    if seconds <= 0:
        raise Unrecognised("hey -z must be positive")
    return seconds
