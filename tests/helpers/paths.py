"""Repository paths for the tests, so a test file can move without counting its parents."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
FIXTURES = TESTS / "fixtures"
SCENARIOS = ROOT / "scenarios"
BENCHMARKS = ROOT / "benchmarks"
DOCS = ROOT / "docs"
