"""The manifest kit shared by the Istio, Linkerd and rollout translators.

Located nodes (:mod:`~meshsim.config.manifest.nodes`), host names
(:mod:`~meshsim.config.manifest.hosts`), Go durations (:mod:`~meshsim.config.manifest.durations`),
declared schemas (:mod:`~meshsim.config.manifest.schema`) and RE2 regex checks
(:mod:`~meshsim.config.manifest.regex`). Nothing here knows one mesh's CRDs.
"""
