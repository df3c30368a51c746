"""The report's tables and text sections as HTML: the header, the golden metrics and workloads
(the same cells as ``meshsim run`` prints), the SLO verdicts (the same lines, marks and
"cannot tell" reasons), the recovery and rollout verdicts, the analyze findings and what the
report leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from meshsim.results.formatting import (
    golden_cells,
    moment,
    rollout_line,
    slo_lines,
    workload_cells,
)
from meshsim.results.report.data import Findings
from meshsim.results.report.svg import esc

MARKS = {"pass": "✔", "fail": "✘", "cannot tell": "?"}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1,
          id_: str = "") -> str:
    """A plain table: the first ``left`` columns are names, the rest numbers (right-aligned)."""
    head = "".join(f'<th class="{"l" if i < left else "r"}">{esc(h)}</th>'
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i < left else "r"}">{esc(c)}</td>'
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    ident = f' id="{esc(id_)}"' if id_ else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def header_list(header: dict[str, Any]) -> str:
    mesh = str(header["mesh"]) + (f" {header['mesh_version']}" if header.get("mesh_version")
                                  else "")
    items = [
        ("scenario", header["scenario"]), ("mesh", mesh), ("seed", header["seed"]),
        ("duration", f"{moment(header['duration'])} (warm-up {moment(header['warmup'])})"),
        ("meshsim", header["meshsim_version"]), ("build", header["build"]),
        ("recorded", header["record"]),
    ]
    if header.get("file"):
        items.append(("scenario file", header["file"]))
    if header.get("sha256"):
        items.append(("scenario sha256", str(header["sha256"])[:16]))
    if header.get("overrides"):
        items.append(("overrides", ", ".join(f"{k}={v}" for k, v in header["overrides"].items())))
    return '<dl id="run-header">' + "".join(
        f'<div><dt>{esc(k)}</dt><dd data-key="{esc(k)}">{esc(v)}</dd></div>' for k, v in items
    ) + "</dl>"


def golden_html(summary: pd.DataFrame) -> str:
    if summary.empty:
        return '<p class="none">No service answered a call after warm-up.</p>'
    headers, rows = golden_cells(summary)
    return table(headers, rows, left=2, id_="golden")


def workloads_html(workloads: pd.DataFrame) -> str:
    if workloads.empty:
        return ""
    headers, rows = workload_cells(workloads)
    return "<h3>Workloads (end to end)</h3>" + table(headers, rows, id_="workloads")


def slo_html(slo: pd.DataFrame) -> str:
    """The verdict lines exactly as ``meshsim run`` prints them, with their marks."""
    if slo.empty:
        return '<p class="none">The scenario sets no expectations (spec.expect).</p>'
    items = "".join(
        f'<li class="slo {esc(outcome.replace(" ", "-"))}" data-outcome="{esc(outcome)}">'
        f'<span class="mark">{MARKS.get(outcome, "✘")}</span> '
        f'<span class="verdict">{esc(line)}</span></li>'
        for outcome, line in slo_lines(slo))
    return f'<ul id="slo">{items}</ul>'


def verdicts_html(recovery: pd.DataFrame, rollout: pd.DataFrame) -> str:
    lines = []
    if len(recovery) and "verdict" in recovery.columns:
        lines += [("recovery " + str(row.outcome), str(row.verdict))
                  for row in recovery.itertuples()]
    if len(rollout):
        lines += [("rollout " + str(row.outcome), rollout_line(row))
                  for row in rollout.itertuples()]
    if not lines:
        return ""
    return '<ul id="verdicts">' + "".join(
        f'<li class="{esc(kind.replace(" ", "-"))}">{esc(text)}</li>' for kind, text in lines
    ) + "</ul>"


def findings_html(findings: Findings) -> str:
    note = f'<p class="note">{esc(findings.note)}</p>' if findings.note else ""
    if not findings.items:
        return note or '<p class="none">✔ No validation issues found.</p>'
    items = "".join(f'<li class="finding {esc(f.level.lower())}" data-code="{esc(f.code)}">'
                    f"{esc(f.line)}</li>" for f in findings.items)
    return f'{note}<ul id="findings">{items}</ul>'


def notes_html(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return ('<section id="omitted"><h2>Left out of this report</h2><ul>'
            + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul></section>")
