"""meshsim: rehearse a service mesh before deploying it.

>>> import meshsim
>>> scenario = meshsim.load("scenarios/retry-storm.yaml")
>>> results = meshsim.simulate(scenario, seed=2)
>>> results.summary
"""

# Must stay first: MESHSIM_PURE=1 makes every meshsim.* import below use the .py sources.
from meshsim import _build

_build.install()

from meshsim._build import build
from meshsim._version import __version__
from meshsim.api import (
    Translation,
    export_traces,
    import_kubernetes,
    import_traces,
    load,
    simulate,
    translate,
)
from meshsim.config import Scenario
from meshsim.errors import ConfigWarning, MeshsimError, ScenarioError
from meshsim.experiments.check import check
from meshsim.experiments.execute import DaskUnavailable
from meshsim.experiments.meshes import MeshComparison, compare_meshes
from meshsim.experiments.rollouts import CanaryResult, canary
from meshsim.experiments.sweep import SweepResult, sweep
from meshsim.experiments.whatif import Recommendation, ResilienceMap, recommend, resilience_map
from meshsim.results import Results
from meshsim.results.check import CheckReport, junit_xml
from meshsim.results.compare import Comparison, Tolerance, compare
from meshsim.results.store import StoredRun, load_run

__all__ = [
    "CanaryResult",
    "CheckReport",
    "Comparison",
    "ConfigWarning",
    "DaskUnavailable",
    "MeshComparison",
    "MeshsimError",
    "Recommendation",
    "ResilienceMap",
    "Results",
    "Scenario",
    "ScenarioError",
    "StoredRun",
    "SweepResult",
    "Tolerance",
    "Translation",
    "__version__",
    "build",
    "canary",
    "check",
    "compare",
    "compare_meshes",
    "export_traces",
    "import_kubernetes",
    "import_traces",
    "junit_xml",
    "load",
    "load_run",
    "recommend",
    "resilience_map",
    "simulate",
    "sweep",
    "translate",
]
