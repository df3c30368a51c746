"""meshsim: rehearse a service mesh before deploying it.

>>> import meshsim
>>> scenario = meshsim.load("scenarios/retry-storm.yaml")
>>> results = meshsim.simulate(scenario, seed=2)
>>> results.summary

The public names load on first use (PEP 562): ``import meshsim`` itself is quick, so the
command line can answer Ctrl-C during its imports with one line instead of a traceback
(:mod:`meshsim.cli.entry`), and pandas and matplotlib load only when something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Must stay first: MESHSIM_PURE=1 makes every meshsim.* import below use the .py sources.
from meshsim import _build

_build.install()

from meshsim._build import build
from meshsim._version import __version__

if TYPE_CHECKING:
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
    from meshsim.experiments.closed_loop import closed_loop_curve
    from meshsim.experiments.execute import DaskUnavailable
    from meshsim.experiments.meshes import MeshComparison, compare_meshes
    from meshsim.experiments.rollouts import CanaryResult, canary
    from meshsim.experiments.sweep import SweepResult, sweep
    from meshsim.experiments.whatif import Recommendation, ResilienceMap, resilience_map
    from meshsim.experiments.whatif.recommend import recommend
    from meshsim.results import Results
    from meshsim.results.check import CheckReport, junit_xml
    from meshsim.results.compare import Comparison, Tolerance, compare
    from meshsim.results.store import StoredRun, load_run

_PUBLIC = {  # name -> the module it lives in
    "export_traces": "meshsim.api", "import_kubernetes": "meshsim.api",
    "import_traces": "meshsim.api", "load": "meshsim.api", "simulate": "meshsim.api",
    "Translation": "meshsim.api", "translate": "meshsim.api",
    "MeshComparison": "meshsim.experiments.meshes", "compare_meshes": "meshsim.experiments.meshes",
    "Scenario": "meshsim.config",
    "ConfigWarning": "meshsim.errors", "MeshsimError": "meshsim.errors",
    "ScenarioError": "meshsim.errors",
    "check": "meshsim.experiments.check",
    "closed_loop_curve": "meshsim.experiments.closed_loop",
    "DaskUnavailable": "meshsim.experiments.execute",
    "CanaryResult": "meshsim.experiments.rollouts", "canary": "meshsim.experiments.rollouts",
    "SweepResult": "meshsim.experiments.sweep", "sweep": "meshsim.experiments.sweep",
    "Recommendation": "meshsim.experiments.whatif", "ResilienceMap": "meshsim.experiments.whatif",
    "recommend": "meshsim.experiments.whatif.recommend",
    "resilience_map": "meshsim.experiments.whatif",
    "Results": "meshsim.results",
    "CheckReport": "meshsim.results.check", "junit_xml": "meshsim.results.check",
    "Comparison": "meshsim.results.compare", "Tolerance": "meshsim.results.compare",
    "compare": "meshsim.results.compare",
    "StoredRun": "meshsim.results.store", "load_run": "meshsim.results.store",
}

__all__ = [
    "CanaryResult", "CheckReport", "Comparison", "ConfigWarning", "DaskUnavailable",
    "MeshComparison", "MeshsimError", "Recommendation", "ResilienceMap", "Results", "Scenario",
    "ScenarioError", "StoredRun", "SweepResult", "Tolerance", "Translation", "__version__",
    "build", "canary", "check", "closed_loop_curve", "compare", "compare_meshes", "export_traces",
    "import_kubernetes", "import_traces", "junit_xml", "load", "load_run", "recommend",
    "resilience_map", "simulate", "sweep", "translate",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and keep the name here."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'meshsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
