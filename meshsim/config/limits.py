"""Every size meshsim accepts, in one place, with the reason for each bound.

A scenario is a model of a mesh, not a copy of it: a few hundred pods, clients and requests per
second show every effect meshsim predicts. Past these bounds a run would take hours or more
memory than the machine has, and a typo (``replicas: 1000000000``) would be found only when the
kernel kills the process. The loader checks each bound (exit 2, located, naming the limit and
why) and the schema carries them (``le=``), so the generated scenario-format reference shows
them. The run-size estimate (:mod:`meshsim.config.estimate`) bounds what no single field does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["", "s", "/s", "bytes"]


@dataclass(frozen=True)
class Limit:
    """An upper bound on one kind of size, and why it is there."""

    what: str  # the thing counted, as a user says it
    maximum: float
    why: str
    unit: Unit = ""

    def show(self, value: float) -> str:
        if self.unit == "s":
            return f"{value:g}s"
        if self.unit == "/s":
            return f"{value:g}/s"
        if self.unit == "bytes":
            return f"{value / 2**20:g} MiB" if value >= 2**20 else f"{value:g} bytes"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"

    def exceeded(self, value: float) -> bool:
        return not value <= self.maximum  # NaN exceeds every limit

    def message(self, value: float) -> str:
        """``1,000,000,000 is over meshsim's limit of 1,000 replicas (why)``."""
        return (
            f"{self.show(value)} is over meshsim's limit of {self.show(self.maximum)} "
            f"{self.what} ({self.why})"
        )


_POD = "every pod is simulated with its own queue and sidecar state"
_SCALE = "scale the deployment down with its load: the same per-pod behaviour shows"

# -- the scenario document ------------------------------------------------------------------
REPLICAS = Limit("replicas", 1_000, f"{_POD}; {_SCALE}")
PODS = Limit("pods in the scenario", 10_000, f"{_POD}; {_SCALE}")
CONCURRENCY = Limit(
    "worker slots per pod", 100_000, "no real pod runs more; beyond it, model more pods"
)
QUEUE = Limit(
    "queued requests per pod", 1_000_000,
    "a queue that long never drains within a run; leave queue unset for unbounded",
)
CORES = Limit("cores per pod", 1_024, "processor sharing over more cores is plain fifo")
CLIENTS = Limit(
    "clients per workload", 10_000,
    "each client is a sidecar with its own retry, balancer and outlier state; a few hundred "
    "already behave like many",
)
USERS = Limit(
    "closed-loop users of one workload", 100_000,
    "each user is one request in flight or one timer; a sweep over users shows the curve",
)
RATE = Limit(
    "per workload", 1_000_000,
    "each simulated request costs tens of microseconds of CPU; lower the rate with the "
    "replicas, or run a shorter duration",
    unit="/s",
)
DURATION = Limit(
    "of simulated time", 86_400.0,
    "one simulated day; every duration in a scenario (run, warm-up, timeouts, faults, "
    "windows) must fit in it",
    unit="s",
)
SERVICES = Limit("services", 1_000, "a model needs only the services on the paths it studies")
VERSIONS = Limit("versions of one service", 100, "each version is a deployment of its own")
CALLS = Limit(
    "calls in one list", 100,
    "each call is a hop of every request; more than this is a batch, not a handler",
)
CALL_DEPTH = Limit(
    "services on one call path", 100,
    "each service on the path is a hop of every request; real call chains are a few deep",
)
PARALLEL_DEPTH = Limit(
    "levels of nested parallel calls", 8, "deeper nesting multiplies hops per request"
)
WORKLOADS = Limit("workloads", 100, "each workload is a source with its own clients")
SCHEDULE = Limit("schedule steps of one workload", 10_000, "one step per second over hours")
REQUESTS = Limit("request templates of one workload", 1_000, "a mix this wide is a sample")
FAULTS = Limit("faults", 10_000, "each fault is a timeline entry of the chaos actor")
EXPECT = Limit("expectations", 1_000, "each expectation is checked over the recorded frames")
ENTRIES = Limit("entries in one map (headers, labels)", 1_000, "no proxy matches on more")
WEIGHT = Limit("request weight", 1_000_000, "weights are shares of a mix; use smaller numbers")

# -- files and manifests --------------------------------------------------------------------
FILE_BYTES = Limit(
    "file size", 16 * 2**20,
    "scenario and manifest files are configuration; a larger file is not one",
    unit="bytes",
)
TOTAL_BYTES = Limit(
    "read in total", 256 * 2**20, "the scenario and all its manifest files together",
    unit="bytes",
)
MANIFEST_FILES = Limit(
    "manifest files", 20_000, "a glob matching more is almost certainly too wide"
)
MANIFESTS = Limit("manifest documents", 20_000, "a mesh this size is a cluster export, not a model")
YAML_NODES = Limit(
    "YAML nodes in one document", 250_000,
    "counting every alias expansion; more is an alias bomb or a data dump, not configuration",
)
YAML_FILE_NODES = Limit(
    "YAML nodes in one file", 1_000_000, "each node is held with its line while loading"
)
GLOB_DIRECTORIES = Limit(
    "directories walked by a manifests glob", 10_000,
    "a '**' that walks this many directories starts too high in the file system",
)
GLOB_FILES = Limit(
    "files under the directory a manifests glob walks", 100_000,
    "a '**' over this many files starts too high in the file system",
)
GLOB_DEPTH = Limit("directory levels under a manifests glob", 32, "deeper trees are not manifests")
RETRY_ATTEMPTS = Limit(
    "retry attempts", 100, "each attempt is simulated; Envoy and Linkerd users set a handful"
)
ROLLOUT_STEPS = Limit(
    "rollout steps or iterations", 10_000, "each step is a controller tick of the run"
)

# Sizes inside manifests, checked when a manifest is classified: (kind, path, limit). ``*``
# is any list index or key; a list or mapping is bounded by its length, a number (or a number
# written as a string, as annotations are) by its value.
MANIFEST_SIZES: tuple[tuple[str, tuple[str, ...], Limit], ...] = (
    ("VirtualService", ("spec", "http", "*", "retries", "attempts"), RETRY_ATTEMPTS),
    ("Service", ("metadata", "annotations", "retry.linkerd.io/limit"), RETRY_ATTEMPTS),
    ("HTTPRoute", ("metadata", "annotations", "retry.linkerd.io/limit"), RETRY_ATTEMPTS),
    ("Rollout", ("spec", "replicas"), REPLICAS),
    ("Rollout", ("spec", "strategy", "canary", "steps"), ROLLOUT_STEPS),
    ("Canary", ("spec", "analysis", "iterations"), ROLLOUT_STEPS),
    ("Canary", ("spec", "analysis", "stepWeights"), ROLLOUT_STEPS),
    ("AnalysisTemplate", ("spec", "metrics", "*", "count"), ROLLOUT_STEPS),
    ("ClusterAnalysisTemplate", ("spec", "metrics", "*", "count"), ROLLOUT_STEPS),
)

# -- the run-size estimate (see meshsim.config.estimate) ------------------------------------
EVENTS_WARN = 5e7  # about ten minutes of wall time on a 2-core machine
EVENTS_REFUSE = 1e9  # hours of wall time
MEMORY_WARN = 1 * 2**30  # bytes
MEMORY_REFUSE = 4 * 2**30
