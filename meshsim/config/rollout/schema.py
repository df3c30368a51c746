"""The fields of Flagger's ``Canary`` and Argo Rollouts' ``Rollout`` and analysis templates.

Mirrors ``fluxcd/flagger`` ``pkg/apis/flagger/v1beta1/canary.go`` and ``argoproj/argo-rollouts``
``pkg/apis/rollouts/v1alpha1/types.go`` / ``analysis_types.go``. A field the CRD lacks is an
error (the API server would reject it); a field meshsim does not model is one warning naming
its path (:func:`~meshsim.config.istio.schema.check_spec` walks the tree).
"""

from __future__ import annotations

from collections.abc import Mapping

from meshsim.config.istio.schema import HEADERS, MATCH, RETRIES
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifest.schema import Field, S, check_spec, many, one, skip

_PODS = "pod templates and replica counts are not read: spec.services defines the pods"
_METADATA = "labels and annotations of generated objects are not modelled"
_READY = "readiness thresholds are not modelled: every simulated pod is ready"

# -- Flagger Canary ----------------------------------------------------------------------------

REF = {"apiVersion": S, "kind": S, "name": S, "namespace": S}
CANARY_SERVICE = {
    "name": S, "port": S, "hosts": S, "gateways": S, "match": many(MATCH),
    "retries": one(RETRIES), "timeout": S, "headers": one(HEADERS),
    "portName": skip("port names are not modelled"),
    "targetPort": skip("meshsim services have one port"),
    "appProtocol": skip("the application protocol is not modelled (plain HTTP)"),
    "portDiscovery": skip("meshsim services have one port"),
    "gatewayRefs": many({"name": S, "namespace": S, "group": S, "kind": S, "port": S,
                         "sectionName": S}),
    "mirror": skip("request mirroring filters (service.mirror) are not modelled"),
    "delegation": skip("delegate VirtualServices are not modelled"),
    "trafficPolicy": skip("the traffic policy of Flagger's generated DestinationRules is not "
                          "applied: the primary and canary clusters keep Istio's defaults"),
    "rewrite": skip("URI and authority rewrites are not modelled (the route still applies)"),
    "corsPolicy": skip("CORS is not modelled (preflight requests are not simulated)"),
    "meshName": skip("App Mesh is not modelled"), "backends": skip("App Mesh is not modelled"),
    "apex": skip(_METADATA), "primary": skip(_METADATA), "canary": skip(_METADATA),
}
CANARY_METRIC = {
    "name": S, "interval": S, "thresholdRange": one({"min": S, "max": S}),
    "threshold": S, "query": S, "templateRef": S, "templateVariables": S,
}
WEBHOOK = {"type": S, "name": S, "url": S, "timeout": S, "metadata": S, "muteAlert": S}
ANALYSIS = {
    "interval": S, "iterations": S, "mirror": S, "mirrorWeight": S, "maxWeight": S,
    "stepWeight": S, "stepWeights": S, "stepWeightPromotion": S, "threshold": S,
    "metrics": many(CANARY_METRIC), "webhooks": many(WEBHOOK), "match": many(MATCH),
    "primaryReadyThreshold": skip(_READY), "canaryReadyThreshold": skip(_READY),
    "alerts": skip("alerts are not sent"),
    "sessionAffinity": skip("session affinity cookies are not modelled: each request is split "
                            "on its own"),
}
CANARY = {
    "provider": S, "targetRef": one(REF), "service": one(CANARY_SERVICE),
    "analysis": one(ANALYSIS), "canaryAnalysis": one(ANALYSIS), "skipAnalysis": S,
    "progressDeadlineSeconds": S,
    "metricsServer": skip("meshsim measures the simulated traffic itself; no metrics server is "
                          "queried"),
    "autoscalerRef": skip("autoscaling is not modelled: each version keeps the replicas "
                          "spec.services gives it"),
    "ingressRef": skip("ingress controllers are not modelled"),
    "routeRef": skip("APISIX routes are not modelled"),
    "upstreamRef": skip("Gloo upstreams are not modelled"),
    "revertOnDeletion": skip("deleting the Canary is not simulated"),
    "suspend": skip("a suspended Canary is not modelled: the analysis runs"),
}

# -- Argo Rollouts -----------------------------------------------------------------------------

ARG = {"name": S, "value": S, "valueFrom": S}
ANALYSIS_REF = {
    "templates": many({"templateName": S, "clusterScope": S}), "args": many(ARG),
    "startingStep": S,
    "dryRun": skip("dry-run metrics are not modelled: every metric counts"),
    "measurementRetention": skip("measurement retention is not modelled"),
    "analysisRunMetadata": skip(_METADATA),
}
_NOT_BUILT = Field()  # read by argo.py, which says why it cannot be rehearsed
STEP = {
    "setWeight": S, "pause": one({"duration": S}), "analysis": one(ANALYSIS_REF),
    "experiment": _NOT_BUILT, "setCanaryScale": _NOT_BUILT, "setHeaderRoute": _NOT_BUILT,
    "setMirrorRoute": _NOT_BUILT, "plugin": _NOT_BUILT,
}
ISTIO_VS = {
    "name": S, "routes": S,
    "tlsRoutes": skip("meshsim simulates HTTP only; TLS routes are ignored"),
    "tcpRoutes": skip("meshsim simulates HTTP only; TCP routes are ignored"),
}
TRAFFIC_ROUTING = {
    "istio": one({
        "virtualService": one(ISTIO_VS), "virtualServices": many(ISTIO_VS),
        "destinationRule": one({"name": S, "canarySubsetName": S, "stableSubsetName": S}),
    }),
    "smi": one({"rootService": S, "trafficSplitName": S}),
    "plugins": S,  # argo_gatewayapi.py reads argoproj-labs/gatewayAPI
    "managedRoutes": skip("managed header and mirror routes are not modelled"),
    "maxTrafficWeight": skip("weights are percentages of 100 in meshsim"),
}
_SCALE = "scale-down timing is not modelled: old pods stop taking traffic at once"
CANARY_STRATEGY = {
    "canaryService": S, "stableService": S, "steps": many(STEP),
    "trafficRouting": one(TRAFFIC_ROUTING), "analysis": one(ANALYSIS_REF),
    "maxSurge": S, "maxUnavailable": S,  # argo.py: read without trafficRouting only
    "antiAffinity": skip("scheduling is not modelled"),
    "canaryMetadata": skip(_METADATA), "stableMetadata": skip(_METADATA),
    "scaleDownDelaySeconds": skip(_SCALE), "scaleDownDelayRevisionLimit": skip(_SCALE),
    "abortScaleDownDelaySeconds": skip(_SCALE),
    "dynamicStableScale": skip(_PODS), "minPodsPerReplicaSet": skip(_PODS),
    "replicaProgressThreshold": skip(_READY),
    "pingPong": skip("ping-pong services are not modelled"),
}
ROLLOUT = {
    "strategy": one({"canary": one(CANARY_STRATEGY), "blueGreen": _NOT_BUILT}),
    # replicas, minReadySeconds, selector.matchLabels.app and the readiness probes' delays are
    # read for a canary without trafficRouting (argo_basic.py), else warned about (argo.py).
    "replicas": S, "selector": S, "minReadySeconds": S,
    "template": skip("spec.services defines the pods' behaviour; only the readiness probes' "
                     "initialDelaySeconds are read, for a canary without trafficRouting"),
    "workloadRef": skip(_PODS),
    "revisionHistoryLimit": skip("revision history is not modelled"),
    "paused": skip("a paused Rollout is not modelled: the steps run from the start"),
    "progressDeadlineSeconds": skip("progress deadlines are not modelled: pods are ready at "
                                    "once"),
    "progressDeadlineAbort": skip("progress deadlines are not modelled"),
    "restartAt": skip("restarts are not simulated"),
    "rollbackWindow": skip("rollback windows are not modelled"),
    "analysis": skip("AnalysisRun history limits are not modelled"),
}
PROMETHEUS = {
    "address": skip("meshsim measures the simulated traffic itself; no Prometheus is queried"),
    "query": S,
    "timeout": skip("query timeouts are not modelled"),
    "insecure": skip("no Prometheus is queried"), "headers": skip("no Prometheus is queried"),
    "authentication": skip("no Prometheus is queried"),
}
METRIC = {
    "name": S, "interval": S, "initialDelay": S, "count": S, "successCondition": S,
    "failureCondition": S, "failureLimit": S, "inconclusiveLimit": S,
    "consecutiveErrorLimit": S, "provider": S,
    "dryRun": skip("dry-run metrics are not modelled: every metric counts"),
    "consecutiveSuccessLimit": skip("consecutive-success limits are not modelled"),
}
ANALYSIS_TEMPLATE = {
    "metrics": many(METRIC), "args": many(ARG),
    "dryRun": skip("dry-run metrics are not modelled: every metric counts"),
    "measurementRetention": skip("measurement retention is not modelled"),
}

_NO_SERVER = "meshsim measures the simulated traffic itself; no metrics server is queried"
METRIC_TEMPLATE = {
    "provider": one({"type": S, "address": skip(_NO_SERVER), "secretRef": skip(_NO_SERVER),
                     "insecureSkipVerify": skip(_NO_SERVER)}),
    "query": S,
}

SPECS: dict[str, Mapping[str, Field]] = {
    "Canary": CANARY,
    "Rollout": ROLLOUT,
    "AnalysisTemplate": ANALYSIS_TEMPLATE,
    "ClusterAnalysisTemplate": ANALYSIS_TEMPLATE,
    "MetricTemplate": METRIC_TEMPLATE,
}


def check(root: Node, diagnostics: Diagnostics) -> None:
    """Reject fields the CRDs lack and warn once for each field meshsim does not model."""
    check_spec(root, SPECS, diagnostics)
