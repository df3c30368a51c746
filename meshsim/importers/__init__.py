"""Scenarios from the system a user runs: Kubernetes objects (``kubectl get -o yaml``) and
traces (OTLP or Jaeger JSON) in, a scenario YAML with its guesses marked out.

Each importer produces an :class:`~meshsim.importers.emit.Imported`: the Scenario document, its
notes by YAML path, the manifests passed through, and files to write beside it.
"""
