"""Layout figures of the package (issue 11): long modules, function lengths, long classes.

    python benchmarks/layout_stats.py            # meshsim/
    python benchmarks/layout_stats.py meshsim/sim

A module over 400 lines or a class over 300 lines is a room holding more than one concept;
the median and p90 function length say whether functions stay small as the code grows.
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path

MODULE_LINES, CLASS_LINES = 400, 300


def measure(root: Path) -> tuple[list[tuple[int, str]], list[int], list[tuple[int, str]]]:
    """Modules over the limit, every function's length, classes over the limit."""
    modules: list[tuple[int, str]] = []
    functions: list[int] = []
    classes: list[tuple[int, str]] = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MODULE_LINES:
            modules.append((lines, str(path)))
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if not isinstance(node, ast.ClassDef):
                functions.append(length)
            elif isinstance(node, ast.ClassDef) and length > CLASS_LINES:
                classes.append((length, f"{path}:{node.name}"))
    return sorted(modules, reverse=True), sorted(functions), sorted(classes, reverse=True)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "meshsim")
    modules, functions, classes = measure(root)
    print(f"modules over {MODULE_LINES} lines: {len(modules)}")
    for lines, name in modules:
        print(f"  {lines:5d} {name}")
    p90 = functions[int(0.9 * len(functions))] if functions else 0
    median = statistics.median(functions) if functions else 0
    print(f"functions: {len(functions)}, median {median} lines, p90 {p90}")
    print(f"classes over {CLASS_LINES} lines: {len(classes)}")
    for lines, name in classes:
        print(f"  {lines:5d} {name}")


if __name__ == "__main__":
    main()
