"""The ``meshsim`` command line: a thin Typer layer over the public API (:mod:`meshsim.api`)."""
