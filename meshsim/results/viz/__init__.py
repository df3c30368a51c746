"""Linkerd viz's views over a run: ``stat``, ``routes``, ``edges``, ``top``, ``tap``,
``authz``, and ``statuses`` (response codes and flags), pure pandas over the run's frames
(requests, calls, attempts, events).

Each view takes a :class:`VizRun` (:func:`from_results` or :func:`from_run_dir`) and a
:class:`Window`, and returns a DataFrame with linkerd's columns in lower case; latencies are
seconds, success a share, RPS per second of the window. ``meshsim viz`` formats them.
"""

from meshsim.results.viz.edges import edges
from meshsim.results.viz.resources import Resource, parse_resource
from meshsim.results.viz.routes import routes
from meshsim.results.viz.run import VizError, VizRun, Window, from_results, from_run_dir
from meshsim.results.viz.stat import authz, stat
from meshsim.results.viz.statuses import statuses
from meshsim.results.viz.tap import tap, top

__all__ = [
    "Resource", "VizError", "VizRun", "Window", "authz", "edges", "from_results",
    "from_run_dir", "parse_resource", "routes", "stat", "statuses", "tap", "top",
]
