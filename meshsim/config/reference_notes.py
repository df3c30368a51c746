"""What each scenario field means where neither its ``Field(description=...)`` nor a comment
in the schema says it: hand-written notes for the scenario-format reference.

Apart from :mod:`.reference` because it is prose, edited with the schema, while the reference
is the code that lays it out. A test fails when a field has no description from any source, or
a note names a field that no longer exists.
"""

from __future__ import annotations

from pydantic import BaseModel

from meshsim.config import schema, schema_failures, schema_topology
from meshsim.config import schema_clients as C

S = schema
F = schema_failures
T = schema_topology
NOTES: dict[tuple[type[BaseModel], str], str] = {
    (C.ClientSpec, "maxAttempts"): "Tries per user request, the first included (AWS SDK "
    "`max_attempts`, gRPC `maxAttempts`); 1 = no retries.",
    (C.ClientSpec, "perTryTimeout"): "How long the app waits for one try; 0 = up to the "
    "overall timeout.",
    (C.ClientSpec, "timeout"): "How long the app waits over all tries and back-off; 0 = the "
    "workload's `timeout`.",
    (C.ClientSpec, "backoff"): "The sleep before each retry.",
    (C.ClientSpec, "retryQuota"): "`standard` or a mapping: the AWS SDKs' standard-mode token "
    "bucket; a retry that finds too few tokens is not made.",
    (C.ClientSpec, "circuitBreaker"): "resilience4j's count-based circuit breaker; a call it "
    "refuses is a row with flag `CB` and no proxy attempt.",
    (C.ClientSpec, "hedging"): "gRPC hedging: another try while none has answered.",
    (C.ClientSpec, "rateLimiter"): "`adaptive` or a mapping: the AWS SDKs' adaptive mode's "
    "client-side rate limiter (CUBIC-cut token bucket, on after the first 429).",
    (C.AdaptiveSpec, "beta"): "Share of the rate that throttled the limiter cuts to (CUBIC).",
    (C.AdaptiveSpec, "scaleConstant"): "CUBIC's scale constant: how fast the rate grows back.",
    (C.AdaptiveSpec, "minRate"): "Tries per second the limiter allows at the least.",
    (C.BackoffSpec, "base"): "The first retry's ceiling; doubles per retry.",
    (C.BackoffSpec, "max"): "The cap of the ceiling.",
    (C.BackoffSpec, "jitter"): "`full` U(0, ceiling), `equal` ceiling/2 + U(0, ceiling/2), "
    "`decorrelated` min(max, U(base, 3·previous)), or `none` (AWS architecture blog).",
    (C.RetryQuotaSpec, "initialTokens"): "Tokens at the start, and at most.",
    (C.RetryQuotaSpec, "retryCost"): "Tokens a retry takes.",
    (C.RetryQuotaSpec, "timeoutRetryCost"): "Tokens a retry after a timeout takes.",
    (C.RetryQuotaSpec, "noRetryIncrement"): "Tokens a success without retries gives back (one "
    "after retries gives back its last retry's cost).",
    (C.CircuitBreakerSpec, "failureRateThreshold"): "Failure rate (per cent) at or above which "
    "the breaker opens.",
    (C.CircuitBreakerSpec, "slidingWindowSize"): "Outcomes of the last this-many calls count.",
    (C.CircuitBreakerSpec, "minimumNumberOfCalls"): "Calls needed in the window before the "
    "rate is judged (at most the window).",
    (C.CircuitBreakerSpec, "waitDurationInOpenState"): "How long it stays open before letting "
    "trial calls through.",
    (C.CircuitBreakerSpec, "permittedNumberOfCallsInHalfOpenState"): "Trial calls in "
    "half-open; their failure rate closes or reopens it.",
    (C.HedgingSpec, "hedgingDelay"): "Wait before each further try.",
    (C.HedgingSpec, "maxAttempts"): "Tries in all, the first included.",
    (S.ScenarioDocument, "apiVersion"): "The version of this format.",
    (S.ScenarioDocument, "kind"): "Marks the scenario document of the YAML stream.",
    (S.ScenarioDocument, "metadata"): "Name and description of the scenario.",
    (S.ScenarioDocument, "spec"): "The scenario itself.",
    (S.Metadata, "description"): "Free text, kept in the run's `run.json`.",
    (S.ScenarioSpec, "mesh"): "Whose proxy semantics and defaults apply: Envoy as Istio "
    "configures it, linkerd2-proxy, or no sidecars at all.",
    (S.ScenarioSpec, "meshVersion"): "The mesh release whose version-dependent defaults apply "
    "(default: the current releases).",
    (S.ScenarioSpec, "duration"): "Simulated time of the run (`--duration` overrides it).",
    (S.ScenarioSpec, "warmup"): "Left out of summary statistics; shorter than `duration`.",
    (S.ScenarioSpec, "seed"): "Root random seed: the same seed gives the same frames "
    "(`--seed` overrides it).",
    (S.ScenarioSpec, "network"): "The network between pods.",
    (S.ScenarioSpec, "proxy"): "The sidecar proxies.",
    (S.CostSpec, "mode"): "`sidecar` (a proxy per pod and client) or Istio's `ambient` (a "
    "ztunnel per node, plus a waypoint per destination service with `waypoint: true`).",
    (S.ScenarioSpec, "cancellation"): "What a pod does with a request whose caller gave up: "
    "`none` works on (as real servers do), `queued` drops it if not started yet, `deadline` "
    "propagates the caller's deadline (gRPC style).",
    (S.ScenarioSpec, "services"): "The services, by name.",
    (S.ScenarioSpec, "workload"): "The load: one entry per source of requests.",
    (S.ScenarioSpec, "faults"): "The chaos timeline (mesh fault injection comes from "
    "VirtualService manifests).",
    (S.ScenarioSpec, "manifests"): "Mesh manifest files or globs, relative to the scenario "
    "file.",
    (S.ScenarioSpec, "expect"): "SLOs: `meshsim run` exits 1 when one fails.",
    (S.ScenarioSpec, "rollout"): "When a Flagger or Argo rollout's new revision lands.",
    (S.ServiceSpec, "errors"): "Share of requests the handler fails: a probability (plain 500s "
    "after the normal latency), or an error model (docs/failures.md).",
    (S.ServiceSpec, "calls"): "Downstream calls each request makes, in order; a failed "
    "required call makes the handler answer 500.",
    (S.ServiceSpec, "versions"): "Subsets (releases) by name, each a deployment of its own; "
    "labels default to `{version: <name>}`.",
    (S.ServiceSpec, "namespace"): "Kubernetes namespace; manifest hosts resolve as "
    "Kubernetes resolves them (`reviews`, `reviews.prod`, `reviews.prod.svc.cluster.local`).",
    (S.ServiceSpec, "contention"): "How requests in a pod share it (a string is the model).",
    (S.ServiceSpec, "labels"): "Pod labels, matched by manifests' selectors.",
    (S.ServiceSpec, "protocol"): "`http` or `grpc`: a gRPC service's failures, and the "
    "proxies' own errors to its callers, answer HTTP 200 with a grpc-status "
    "(docs/failures.md#grpc-services).",
    (S.VersionSpec, "replicas"): "Pods of this version.",
    (S.VersionSpec, "concurrency"): "Replaces the service's `concurrency`.",
    (S.VersionSpec, "queue"): "Replaces the service's `queue`.",
    (S.VersionSpec, "latency"): "Replaces the service's `latency`.",
    (S.VersionSpec, "errors"): "Replaces the service's `errors`.",
    (S.VersionSpec, "labels"): "Pod labels of this version (default `{version: <name>}`).",
    (S.VersionSpec, "calls"): "Replaces the service's `calls`.",
    (S.VersionSpec, "contention"): "Replaces the service's `contention`.",
    (S.CallSpec, "service"): "The service called (a string entry is this alone).",
    (S.CallSpec, "path"): "Request path, matched by routes.",
    (S.CallSpec, "method"): "HTTP method, matched by routes.",
    (S.CallSpec, "headers"): "Request headers, matched by routes.",
    (S.CallSpec, "probability"): "Share of requests that make this call.",
    (S.CallSpec, "optional"): "A failed optional call does not fail the handler.",
    (S.CallSpec, "client"): "The app's own SDK client around this call, in each calling pod: "
    "timeouts, retries with back-off, retry quota, circuit breaker, hedging (docs/clients.md).",
    (S.CallSpec, "parallel"): "Calls made at the same time (fan-out); takes no other field.",
    (S.ContentionSpec, "model"): "`fifo` worker slots, `processor-sharing` over `cores`, or "
    "`inflight`: service time grows with the requests in flight.",
    (S.ContentionSpec, "cores"): "Cores the requests share (processor-sharing only).",
    (S.ContentionSpec, "factor"): "Service-time growth per request in flight (inflight only).",
    (S.WorkloadSpec, "name"): "Names the workload and its client proxies (`<name>-<i>`).",
    (S.WorkloadSpec, "target"): "The service the requests go to.",
    (S.WorkloadSpec, "rate"): "A rate, or a schedule of steps `[{at: 0s, rate: 100/s}, ...]` "
    "in increasing `at` (an open loop). Required unless `users` or `connections` is given.",
    (S.WorkloadSpec, "users"): "A closed loop: this many users (k6 VUs), each sending, "
    "waiting for the answer, thinking, and sending again (docs/clients.md).",
    (S.WorkloadSpec, "connections"): "The same as `users`, in fortio/hey/wrk's word (`-c`).",
    (S.WorkloadSpec, "thinkTime"): "A distribution: a user's pause between an answer and its "
    "next request (0s for a load generator).",
    (S.WorkloadSpec, "qps"): "Pacing (fortio `-qps`): the total rate over all users, each "
    "user at most `qps/users`; 0 = as fast as the answers come.",
    (S.WorkloadSpec, "requests"): "Total requests (fortio `-n`), split evenly over the users.",
    (S.WorkloadSpec, "duration"): "Users start no request after this (fortio `-t`).",
    (S.WorkloadSpec, "executor"): "k6's executor name, checked against the fields: "
    "`constant-vus` (users) or `constant-arrival-rate` (rate and maxVUs).",
    (S.WorkloadSpec, "maxVUs"): "With `rate` (k6 constant-arrival-rate): an arrival needs a free "
    "VU, else it is dropped (a `dropped-iteration` event).",
    (S.WorkloadSpec, "client"): "The calling app's own policies: timeouts, retries with "
    "back-off, retry quota, circuit breaker, hedging (docs/clients.md).",
    (S.RateStepSpec, "ramp"): "Reach this rate linearly from the previous step's (a ramp) "
    "instead of jumping to it at `at`.",
    (S.WorkloadSpec, "arrival"): "Poisson arrivals or evenly spaced ones.",
    (S.WorkloadSpec, "clients"): "Client sidecars the load comes from, each with its own "
    "proxy state.",
    (S.WorkloadSpec, "request"): "The request sent, or a weighted mix of them.",
    (S.RequestSpec, "method"): "HTTP method, matched by routes.",
    (S.RequestSpec, "path"): "Request path, matched by routes.",
    (S.RequestSpec, "headers"): "Request headers, matched by routes.",
    (S.RequestSpec, "weight"): "Share of the mix.",
    (S.RateStepSpec, "at"): "When this step starts.",
    (S.RateStepSpec, "rate"): "Requests per second from then on.",
    (S.FaultSpec, "at"): "When the fault starts; before the end of the run.",
    (S.FaultSpec, "for"): "How long it lasts.",
    (S.FaultSpec, "target"): "A service, `service/version` or a pod (`ratings-0`); may be "
    "left out when `zone`, `cluster` or `gateway` says where.",
    (S.FaultSpec, "latency"): "Slower service: `x10` or `+50ms`.",
    (S.FaultSpec, "errors"): "Share of requests failed while it lasts: a probability (500s), "
    "or an error model (docs/failures.md; no `pods`/`badPods`, the target names the pods).",
    (F.ErrorsSpec, "rate"): "Share of requests that fail (`2%` or `0.02`).",
    (F.ErrorsSpec, "status"): "What a failure is, by weight: HTTP statuses (`503: 0.7`), "
    "`reset` (the stream is reset: 503 UR) or `connect-failure` (the connection is refused: "
    "503 UF); through an inbound sidecar both become its 503 (Envoy) or 502 (Linkerd).",
    (F.ErrorsSpec, "grpcStatus"): "gRPC statuses by weight (`protocol: grpc` services only), "
    "named as grpc names them (`UNAVAILABLE: 0.7`) or by code (`14`); weighed together with "
    "`status`. Each answers HTTP 200 with that grpc-status.",
    (F.ErrorsSpec, "latency"): "How long a failure takes: `normal` (the service's latency), "
    "`immediate`, or a distribution of its own.",
    (F.ErrorsSpec, "pods"): "Only these pods fail (indexes from 0, in the version's pods).",
    (F.ErrorsSpec, "badPods"): "Only the first N pods fail.",
    (F.ErrorsSpec, "burst"): "Errors come in bursts (an on/off process shared by the pods).",
    (F.ErrorsSpec, "perQueued"): "The rate rises with the queue: `min(1, rate + perQueued x "
    "waiting)` when the request arrives.",
    (F.BurstSpec, "onFor"): "Mean length of a burst (exponential); `rate` applies during it.",
    (F.BurstSpec, "offFor"): "Mean time between bursts (exponential); no errors then.",
    (S.FaultSpec, "down"): "The target's pods stop answering.",
    (S.FaultSpec, "link"): "Two clusters: attempts between them fail (down: refused; "
    "blackhole: connect timeout).",
    (S.FaultSpec, "freeze"): "A cluster whose proxies get no endpoint updates while it lasts.",
    (S.ExpectSpec, "metric"): "What is measured, as in the summary frame.",
    (S.ExpectSpec, "service"): "The service, or a workload for its end-to-end requests.",
    (S.ExpectSpec, "subset"): "One version (subset) of the service only.",
    (S.ExpectSpec, "window"): "`[start, end]` of simulated time (default: from the end of "
    "warm-up to the end of the run).",
    (S.ExpectSpec, "min"): "Lowest value that passes, in the metric's unit: a duration for "
    "latencies, `99%` or `0.99` for shares, `400/s` for rps.",
    (S.ExpectSpec, "max"): "Highest value that passes, in the metric's unit (as `min`).",
    (S.RolloutSpec, "start"): "Simulated time the new revision lands (default: the end of "
    "warm-up).",
    (T.TopologySpec, "clusters"): "The mesh's Kubernetes clusters by name "
    "(docs/multicluster.md).",
    (T.TopologySpec, "latency"): "One-way latency between places; the same zone is "
    "`network.latency`.",
    (T.ClusterSpec, "region"): "`topology.kubernetes.io/region` of the cluster's nodes.",
    (T.ClusterSpec, "zones"): "`topology.kubernetes.io/zone` values placements may use.",
    (T.LatencyMatrixSpec, "crossZone"): "One way between zones of a region.",
    (T.LatencyMatrixSpec, "crossRegion"): "One way between regions.",
    (T.PlacementSpec, "zone"): "`topology.kubernetes.io/zone` (empty: none).",
    (T.PlacementSpec, "subzone"): "`topology.istio.io/subzone` (empty: none).",
    (T.PlacementSpec, "replicas"): "Pods in this place; the service's replicas are the sum.",
    (T.WherePlacement, "cluster"): "Default: the only cluster.",
    (T.ProbeSpecSpec, "period"): "Between probes (plus up to a tenth of it, at random).",
    (T.ProbeSpecSpec, "timeout"): "A probe with no answer by then fails (a blackholed gateway).",
    (T.ProbeSpecSpec, "failureThreshold"): "Failed probes in a row that make the gateway dead.",
    (T.WherePlacement, "zone"): "`topology.kubernetes.io/zone` (empty: none).",
    (T.WherePlacement, "subzone"): "`topology.istio.io/subzone` (empty: none).",
}
