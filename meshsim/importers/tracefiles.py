"""Reading trace files: one JSON document, or JSON Lines as the collector's file exporter
writes them, each object OTLP (``resourceSpans``) or Jaeger (``data``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from meshsim.importers import jaeger, otlp
from meshsim.importers.spans import Span, TraceFileError, located


def read_spans(paths: Iterable[Path]) -> list[Span]:
    spans: list[Span] = []
    for path in paths:
        spans.extend(read_file(path))
    return spans


def read_file(path: Path) -> list[Span]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise located(file, "", f"cannot read the trace file: {reason}") from None
    objects = _objects(text, file)
    if not objects:
        raise located(file, "", "no traces: the file is empty")
    kinds = {("otlp" if otlp.is_otlp(o) else "jaeger" if jaeger.is_jaeger(o) else "?")
             for _, o in objects}
    if "?" in kinds or len(kinds) > 1:
        line = next((n for n, o in objects if not (otlp.is_otlp(o) or jaeger.is_jaeger(o))),
                    objects[0][0])
        raise located(file, "", "expected OTLP JSON ({\"resourceSpans\": [...]}, the "
                      "collector's file exporter) or Jaeger JSON ({\"data\": [...]})", line)
    if kinds == {"otlp"}:
        return otlp.read(objects, file)
    return jaeger.read(objects, file)


def _objects(text: str, file: str) -> list[tuple[int | None, Any]]:
    """The JSON objects of the file with the line each starts on (None: the whole file)."""
    try:
        return [(None, json.loads(text))] if text.strip() else []
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise _not_json(file, exc, exc.lineno) from None
    out: list[tuple[int | None, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise _not_json(file, exc, number) from None
    return out


def _not_json(file: str, exc: json.JSONDecodeError, line: int) -> TraceFileError:
    return located(file, "", f"not JSON: {exc.msg} (column {exc.colno})", line)
