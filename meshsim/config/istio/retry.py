"""VirtualService ``retries`` → Envoy retry policy, as ``route/retry/retry.go`` builds it.

``ConvertPolicy``: no ``retries`` → the default policy; ``attempts <= 0`` → no policy at all;
otherwise the default policy with ``attempts``, and ``retryOn`` (when given) replacing both the
conditions and the status codes: each part that is an HTTP status Go knows
(``http.StatusText``) becomes a retriable code, and ``retriable-status-codes`` is appended when
any code was given (``parseRetryOn``). ``backoff`` only sets the base interval (max stays
10 × base). ``host_selection_retry_max_attempts`` is 5 on every policy Istio builds.
``retryRemoteLocalities: true`` adds the ``previous_priorities`` retry priority (update
frequency 2).
"""

from __future__ import annotations

from dataclasses import replace

from meshsim.config.fields import did_you_mean
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.model.routes import RetryPolicy

from .defaults import default_retry
from .profile import IstioProfile

# Envoy router_filter.rst x-envoy-retry-on and x-envoy-retry-grpc-on conditions.
RETRY_ON = (
    "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure",
    "envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes",
    "retriable-headers", "http3-post-connect-failure",
    "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
)
# buildPreviousPrioritiesConfig: retryRemoteLocalities' previous_priorities update frequency.
REMOTE_LOCALITIES_UPDATE_FREQUENCY = 2
# Go net/http StatusText: the integers parseRetryOn accepts as status codes.
GO_STATUS_CODES = frozenset(
    [100, 101, 102, 103, *range(200, 209), 226, *range(300, 306), 307, 308, *range(400, 419),
     421, 422, 423, 424, 425, 426, 428, 429, 431, 451, *range(500, 509), 510, 511]
)


def convert_retries(
    retries: Node, profile: IstioProfile, diagnostics: Diagnostics, *, consistent_hash: bool
) -> RetryPolicy | None:
    """The route's retry policy; ``consistent_hash`` = single destination with a hash policy."""
    previous_hosts = not (consistent_hash and profile.consistent_hash_skips_previous_hosts)
    policy = default_retry(profile, previous_hosts=previous_hosts)
    if not retries.present:
        return policy
    attempts = retries["attempts"].integer(0)
    if attempts < 0:
        raise retries["attempts"].error(f"attempts cannot be negative, got {attempts}")
    if attempts == 0:
        others = [k for k in retries.mapping() if k != "attempts"]
        if others:
            diagnostics.warn(
                retries,
                f"retries.attempts is {'0' if retries.has('attempts') else 'unset'}: Istio "
                f"emits no retry policy at all, so {', '.join(others)} has no effect",
                code="no-effect",
            )
        return None
    policy = replace(policy, num_retries=attempts)
    if retries.has("retryOn"):
        retry_on, codes = parse_retry_on(retries["retryOn"])
        policy = replace(policy, retry_on=retry_on, retriable_status_codes=codes)
    if retries.has("perTryTimeout"):
        policy = replace(policy, per_try_timeout=retries["perTryTimeout"].duration(minimum=0.001))
    if retries.has("retryIgnorePreviousHosts"):
        node = retries["retryIgnorePreviousHosts"]
        if profile.retry_ignore_previous_hosts:
            policy = replace(policy, previous_hosts=node.boolean())
        else:
            diagnostics.warn(node, _too_new("retryIgnorePreviousHosts", profile), "version")
    if retries.has("retryRemoteLocalities") and retries["retryRemoteLocalities"].boolean():
        # pilot's previous_priorities retry priority, UpdateFrequency 2
        policy = replace(policy, previous_priorities=REMOTE_LOCALITIES_UPDATE_FREQUENCY)
    if retries.has("backoff"):
        node = retries["backoff"]
        if profile.retry_backoff:
            policy = replace(policy, backoff_base=node.duration(minimum=0.001), backoff_max=None)
        else:
            diagnostics.warn(node, _too_new("backoff", profile), "version")
    return policy


def parse_retry_on(node: Node) -> tuple[frozenset[str], frozenset[int]]:
    """``parseRetryOn``: conditions and status codes from the comma list."""
    conditions: list[str] = []
    codes: set[int] = set()
    for part in (p.strip() for p in node.string().split(",")):
        if not part:
            continue
        if part.isdigit():
            if int(part) not in GO_STATUS_CODES:
                raise node.error(f"retryOn {part!r} is not an HTTP status code")
            codes.add(int(part))
        elif part in RETRY_ON:
            conditions.append(part)
        else:
            raise node.error(
                f"unknown retryOn condition {part!r}{did_you_mean(part, RETRY_ON)} "
                f"(Envoy knows {', '.join(RETRY_ON)}, or an HTTP status code)"
            )
    if codes:
        conditions.append("retriable-status-codes")
    return frozenset(conditions), frozenset(codes)


def _too_new(field: str, profile: IstioProfile) -> str:
    return (
        f"retries.{field} exists from Istio 1.26; Istio {profile.version} does not know the field "
        "and ignores it"
    )
