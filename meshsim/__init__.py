"""meshsim: rehearse a service mesh before deploying it.

>>> import meshsim
>>> scenario = meshsim.load("scenarios/retry-storm.yaml")
>>> results = meshsim.simulate(scenario, seed=2)
>>> results.summary
"""

from meshsim._version import __version__
from meshsim.api import load, simulate
from meshsim.config import Scenario
from meshsim.errors import ConfigWarning, MeshsimError, ScenarioError
from meshsim.results import Results
from meshsim.sweeps import SweepResult, sweep

__all__ = [
    "ConfigWarning", "MeshsimError", "Results", "Scenario", "ScenarioError", "SweepResult",
    "__version__", "load", "simulate", "sweep",
]
