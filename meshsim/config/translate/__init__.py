"""``meshsim translate``: the same intent under the other mesh (reference/mesh-cost.md §4).

Works from the manifests as written (not the compiled model) because the model holds what the
engine needs, with every default filled in and no trace of which field said it: a translation
must name each source field it could not carry, with its file, line and YAML path, and emit
only what the user wrote (plus the defaults that differ between meshes, said as such).
"""

from meshsim.config.translate.notes import Note, Translation
from meshsim.config.translate.scenario import translate_scenario

__all__ = ["Note", "Translation", "translate_scenario"]
