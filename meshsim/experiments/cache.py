"""The sweep cache: one small JSON file per finished run, keyed by what decides its result.

The key is the scenario file's sha256, the overrides, the seed and the reported service, so a
rerun of the same sweep (or a grid that overlaps it) skips the runs already done. Nothing is
pickled: a cache stays valid when meshsim's modules move.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meshsim.errors import MeshsimError

CACHE_VERSION = 1


class CacheUnavailable(MeshsimError):
    """``cache_dir=`` names a path that cannot be a directory (a file, no permission)."""


def open_cache(cache_dir: Path | str | None) -> Path | None:
    """The cache directory, created if need be; None when there is no cache."""
    if cache_dir is None:
        return None
    cache = Path(cache_dir)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheUnavailable(f"--cache-dir {cache}: cannot create the cache directory "
                               f"({exc.strerror or exc})") from None
    return cache


def cache_key(sha256: str, overrides: Mapping[str, object], seed: int, service: str) -> str:
    blob = json.dumps(
        {"v": CACHE_VERSION, "scenario": sha256, "overrides": dict(overrides), "seed": seed,
         "service": service},
        sort_keys=True, default=repr,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def read_cache(file: Path, metrics: tuple[str, ...]) -> dict[str, Any] | None:
    """The cached row, or None when there is none or it lacks one of ``metrics``."""
    try:
        row = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(row, dict) or any(m not in row for m in metrics):
        return None  # a run cached with other metrics: run it again
    return row


def write_cache(file: Path, row: Mapping[str, Any]) -> None:
    tmp = file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(row)))
    tmp.replace(file)  # atomic: an interrupted sweep never leaves half a file
