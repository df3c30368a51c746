"""Short runs of shipped scenarios saved as run directories for the HTML report tests, a
parser for the rendered page, and headless Chromium (Debian's ``chromium`` package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from paths import SCENARIOS

import meshsim
from meshsim import Results

CIRCUIT_BREAKER = SCENARIOS / "istio" / "circuit-breaker.yaml"  # fault at 5s, ejections, SLOs
RETRY_STORM = SCENARIOS / "retry-storm.yaml"  # users → frontend → reviews → ratings
CANARY = SCENARIOS / "canary" / "flagger-errors-rolled-back.yaml"


@dataclass(frozen=True)
class SavedRun:
    results: Results
    path: Path


def saved_run(scenario: Path, folder: Path, duration: str, record: str = "all",
              **overrides: str) -> SavedRun:
    """``meshsim run`` of the scenario for ``duration`` into ``folder/run``; ``overrides``
    as ``--set`` (``spec.warmup``)."""
    loaded = meshsim.load(scenario, overrides=overrides or None)
    results = meshsim.simulate(loaded, duration=duration, record=record)
    return SavedRun(results, results.save(folder / "run", plots=False))


class Page(HTMLParser):
    """What the tests read off a rendered page: texts by element id or class, attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, list[str]] = {}
        self.elements: list[tuple[str, dict[str, str]]] = []
        self._open: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.elements.append((tag, found))
        keys = [f"#{found['id']}"] if "id" in found else []
        keys += [f".{c}" for c in found.get("class", "").split()]
        if tag not in ("meta", "path", "rect", "circle", "line", "polyline", "br", "img"):
            self._open.append((tag, " ".join(keys)))
            for key in keys:
                self.texts.setdefault(key, []).append("")

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            name, _ = self._open.pop()
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, keys in self._open:
            for key in keys.split():
                self.texts[key][-1] += data

    def text(self, key: str) -> list[str]:
        return [t.strip() for t in self.texts.get(key, [])]

    def with_attr(self, name: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.elements if name in attrs]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def chromium() -> str:
    """Chromium's path; skip when Debian's ``chromium`` package is absent, unless CI
    (``MESHSIM_REQUIRE_CHROMIUM=1``) says it must be there."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("MESHSIM_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is required here (MESHSIM_REQUIRE_CHROMIUM=1): "
                        "apt-get install chromium")
        pytest.skip("chromium not installed (Debian: apt-get install chromium)")
    return found


def dump_dom(page: Path) -> str:
    """The DOM after the page's scripts ran, from headless Chromium with no network at all
    (every host unresolvable, a dead proxy): what a user opening the file offline sees."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=2000",
             "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
