"""Experiments: many seeded runs of one scenario, through the public API.

Sweeps over a grid of ``--set`` values, SLO checks over seeds, canary rehearsals and what-if
analysis (resilience maps, the policy recommender). :mod:`meshsim` exports their entry points;
this package does not re-export them, so ``meshsim.experiments.sweep`` stays the module (a
re-exported function would shadow it for ``monkeypatch`` and ``mock.patch``).
"""
