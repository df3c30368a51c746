"""``meshsim translate SCENARIO --to linkerd|istio``: the same intent under the other mesh.

Writes the new scenario file (the Scenario document and the other mesh's manifests in one YAML
stream, the notes as its header comment), checks that it loads, and prints per source field
what has no equivalent (``lost``) and what was approximated. Exit codes: 0 written, 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import meshsim.api as api
from meshsim.cli.common import (
    BadInput,
    ForceOpt,
    StrictOpt,
    app,
    check_output,
    load_scenario,
    stderr,
    stdout,
    user_errors,
    write_output,
)


@app.command()
def translate(
    scenario_file: Annotated[Path, typer.Argument(help="The scenario to translate.",
                                                  show_default=False)],
    to: Annotated[str, typer.Option("--to", metavar="linkerd|istio",
                                    help="The mesh to translate to.", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Where to write the new scenario (default: <name>-<mesh>.yaml beside it).")] = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
) -> None:
    """Translate a scenario's Istio manifests to Linkerd's or back, naming every field that has
    no equivalent and every approximation (file:line and YAML path)."""
    out_console, err = stdout(), stderr()
    with user_errors(err):
        if to not in ("istio", "linkerd"):
            raise BadInput(f"--to {to!r}: expected one of 'istio', 'linkerd'")
        scenario = load_scenario(scenario_file, [], strict)
        translation = api.translate(scenario, to)
        target = out or scenario_file.with_name(f"{scenario_file.stem}-{to}.yaml")
        check_output("--output", target, force=force)
        api.load_translation(translation, target)  # it must load before it is written
        write_output("--output", target, lambda p: p.write_text(translation.text()),
                     force=force)
    for note in translation.notes:
        out_console.print(note.format(), markup=False,
                          style="yellow" if note.kind == "approximated" else "red")
    out_console.print(f"wrote {target}: {len(translation.manifests)} manifests, "
                      f"{len(translation.lost)} lost, {len(translation.approximated)} "
                      "approximated", markup=False)
