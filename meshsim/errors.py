"""Errors and warnings a user can act on.

Every problem with user input is a :class:`ScenarioError` that knows where it came from
(file, line, YAML path), so the CLI can print one line and exit 2 without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    """Where something was written: file, 1-based line and column, and YAML path."""

    file: str = "<input>"
    line: int | None = None
    column: int | None = None
    path: str = ""

    def prefix(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where


class MeshsimError(Exception):
    """Base class of every error meshsim raises on purpose."""


@dataclass
class ScenarioError(MeshsimError):
    """Bad user input: malformed YAML, unknown field, wrong unit, dangling reference."""

    message: str
    location: Location = field(default_factory=Location)

    def __post_init__(self) -> None:
        super().__init__(self.format())

    def format(self) -> str:
        path = f" {self.location.path}:" if self.location.path else ""
        return f"{self.location.prefix()}:{path} {self.message}"

    def __str__(self) -> str:
        return self.format()


@dataclass
class MissingReference(ScenarioError):
    """A manifest names a host, subset or gateway that does not exist.

    The same error line as any ScenarioError; ``meshsim analyze`` also reads what was
    referenced, by which manifest, to report istioctl's IST0101 / IST0174 instead of failing.
    """

    reference: str = ""  # what kind of thing: "host", "host+subset in destinationrule", ...
    value: str = ""  # the name written
    kind: str = ""  # the referring manifest
    name: str = ""
    namespace: str = ""


class UnitError(ValueError):
    """A value that does not parse as the unit it must have (raised by :mod:`meshsim.units`)."""


@dataclass(frozen=True)
class ConfigWarning:
    """Something the user wrote that meshsim does not model: named, never silently dropped."""

    message: str
    location: Location = field(default_factory=Location)
    code: str = "unmodelled"

    def format(self) -> str:
        path = f" {self.location.path}:" if self.location.path else ""
        return f"{self.location.prefix()}:{path} warning: {self.message}"
