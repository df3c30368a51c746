"""What-if analysis at scale: resilience maps and the policy recommender.

Both cross every stage through the public API (load, simulate, Results), like
:mod:`meshsim.experiments.sweep`, and run many seeded simulations on a process pool.
"""

from meshsim.experiments.whatif.recommend import Recommendation, recommend
from meshsim.experiments.whatif.resilience import ResilienceMap, resilience_map

__all__ = ["Recommendation", "ResilienceMap", "recommend", "resilience_map"]
