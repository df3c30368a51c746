"""``meshsim analyze``: istioctl-analyze-style findings for a scenario (docs/analyze.md).

Prints one line per finding, ``Level [CODE] (Kind name.namespace file:line) message``, or
istioctl's ``-o json|yaml`` objects. Exit codes follow ``istioctl analyze``
(``istioctl/pkg/analyze/analyze.go``): 79 when, with the default ``-o log``, a finding is at
or above ``--failure-threshold`` (default Error); ``-o json|yaml`` always exit 0, as in
istioctl; 2 for bad input (one line, as every meshsim command).
"""

from __future__ import annotations

import fnmatch
import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
import yaml

from meshsim.analyze import ALL, Analysis, Finding, Level
from meshsim.analyze import analyze as run_analysis
from meshsim.cli.common import (
    EXIT_OK,
    BadInput,
    ScenarioArg,
    SetOpt,
    StrictOpt,
    app,
    parse_overrides,
    stderr,
    stdout,
    user_errors,
)

EXIT_FOUND_ISSUES = 79  # istioctl's ExitAnalyzerFoundIssues ("for CI/CD")


class Output(StrEnum):
    log = "log"
    json = "json"
    yaml = "yaml"


@app.command()
def analyze(
    scenario_file: ScenarioArg,
    output: Annotated[
        Output, typer.Option("--output", "-o", help="Output format (istioctl's).")
    ] = Output.log,
    failure_threshold: Annotated[str, typer.Option(
        "--failure-threshold", metavar="LEVEL",
        help="Exit 79 when a finding is at least this level (Info, Warning, Error).",
    )] = "Error",
    output_threshold: Annotated[str, typer.Option(
        "--output-threshold", metavar="LEVEL", help="Print findings at least this level.",
    )] = "Info",
    suppress: Annotated[list[str] | None, typer.Option(
        "--suppress", "-S", metavar="CODE=RESOURCE",
        help="Suppress a code on a resource, e.g. 'MSH0102=VirtualService *.default' "
        "(* matches anything; repeatable).", show_default=False,
    )] = None,
    confirm: Annotated[bool, typer.Option(
        "--confirm", help="Confirm dynamic findings (MSH0101, MSH0105) with a 3 s simulation.",
    )] = False,
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, metavar="N", help="Seed of the --confirm simulation (default: spec.seed).",
        show_default=False,
    )] = None,
    list_codes: Annotated[bool, typer.Option(
        "--list-codes", "-L", help="List the codes analyze reports, and exit.",
    )] = False,
    sets: SetOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Find misconfigurations and retry/timeout hazards in a scenario, as istioctl analyze."""
    out, err = stdout(), stderr()
    if list_codes:
        for kind in ALL:
            out.print(f"{kind.code}  {kind.name}  {kind.level.text}", markup=False)
        raise typer.Exit(EXIT_OK)
    with user_errors(err):
        fail_at, show_at = _level(failure_threshold, "--failure-threshold"), _level(
            output_threshold, "--output-threshold")
        rules = [_suppression(s) for s in suppress or []]
        if not scenario_file.is_file():
            raise BadInput(f"{scenario_file}: no such file")
        result = run_analysis(scenario_file, parse_overrides(sets or []) or None,
                              strict=strict, confirm=confirm, seed=seed)
    kept = [f for f in result.findings if not any(_suppressed(f, r) for r in rules)]
    shown = [f for f in kept if f.level >= show_at]
    _print(result, shown, output)
    if output is Output.log and any(f.level >= fail_at for f in kept):
        raise typer.Exit(EXIT_FOUND_ISSUES)
    raise typer.Exit(EXIT_OK)


def _print(result: Analysis, shown: list[Finding], output: Output) -> None:
    err = stderr()
    if output is Output.json:
        sys.stdout.write(json.dumps([f.unstructured() for f in shown], indent=1) + "\n")
    elif output is Output.yaml:
        sys.stdout.write(yaml.safe_dump([f.unstructured() for f in shown], sort_keys=False))
    else:
        for found in shown:
            sys.stdout.write(found.format() + "\n")
        if not shown:
            err.print(f"\u2714 No validation issues found when analyzing {result.file}.",
                      markup=False)
    if result.stopped:
        err.print(f"note: the scenario does not load as it is ({result.stopped}); the "
                  "manifests named above were left out to check the rest", markup=False,
                  soft_wrap=True)


def _level(text: str, option: str) -> Level:
    try:
        return Level.parse(text)
    except ValueError as exc:
        raise BadInput(f"{option}: {exc}") from None


def _suppression(text: str) -> tuple[str, str]:
    code, sep, resource = text.partition("=")
    if not sep or not code or not resource:
        raise BadInput(f"--suppress {text!r}: expected CODE=RESOURCE, e.g. "
                       "'IST0101=VirtualService reviews.default'")
    return code.strip(), resource.strip()


def _suppressed(found: Finding, rule: tuple[str, str]) -> bool:
    code, resource = rule
    return found.type.code == code and fnmatch.fnmatchcase(found.resource.friendly(), resource)


