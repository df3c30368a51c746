"""The Linkerd translator: Linkerd manifests + the scenario's topology → a :class:`TrafficPolicy`.

``translate`` (:mod:`.translate`, a pipeline of steps) applies the manifests as Linkerd's
control plane and linkerd2-proxy would (``reference/linkerd.md``). Per destination service it
decides the path (§0):

* **profile path**, when the service's ServiceProfile (or the one a TrafficSplit creates) has
  routes or ``dstOverrides``: its routes in order plus a catch-all ``default`` route, each with
  the dstOverride backends (decimilli weights), ``response_classes``, ``is_retryable`` and the
  profile's shared :class:`TpsBudgetSpec`; HTTPRoutes, retry/timeout annotations and failure
  accrual of that service are ignored with an ``overridden`` warning;
* **policy path** otherwise: HTTPRoutes flattened and sorted so the first match is Linkerd's best
  match, each with :class:`PolicyRetrySpec` and request/response timeouts from the route's
  annotations (or, group by group, the Service's), and failure accrual on the service's backend.
  A service with no HTTPRoute but retry/timeout annotations gets one ``default`` route.

Services with no Linkerd configuration get no ``routes`` entry (the engine's default route:
no retries, no timeout). Every backend balances with P2C + Peak-EWMA behind a 10,000-deep queue
with a 3 s failfast (:class:`LinkerdBackend`).
``TrafficPolicy.inbound`` holds the authorization policy; ``sidecars`` which services are
injected. The engine stays mesh-agnostic: it reads these fields, never a Linkerd manifest.

Every field meshsim does not model is one warning; a configuration Linkerd's controller drops
is a ``dropped`` warning; every reference that cannot work (a missing service or Server, a bad
duration, weight or regex) is a located :class:`~meshsim.errors.ScenarioError`.
"""

from .translation import LinkerdTranslation, linkerd_backend, reads, translate

__all__ = ["LinkerdTranslation", "linkerd_backend", "reads", "translate"]
