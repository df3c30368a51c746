"""The config stage: scenario YAML and mesh manifests in, a frozen ``meshsim.model.Model`` out.

``load_scenario`` runs the stages in order: :mod:`.yamlsrc` (YAML with positions),
:mod:`.overrides` (``--set``), :mod:`.schema` (pydantic), :mod:`.manifests`, :mod:`.compile`.
"""

from meshsim.config import owners
from meshsim.config.manifests import Manifest
from meshsim.config.overrides import parse_set_option
from meshsim.config.scenario import Scenario, load_scenario, load_scenario_text

__all__ = [
    "Manifest", "Scenario", "load_scenario", "load_scenario_text", "owners", "parse_set_option",
]
