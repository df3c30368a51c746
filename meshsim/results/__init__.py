"""Results of a run: DataFrames with documented columns, summaries, SLO checks, plots, storage.

``Results`` is the entry point; the modules behind it each own one concept: ``frames``
(decoding the recording), ``timeseries``, ``summary``, ``slo``, ``plots`` and ``store``.
"""

from meshsim.results.results import Results

__all__ = ["Results"]
