"""Outputs that appear whole or not at all, and never over something without being asked.

A file or directory is written under a hidden temporary name next to its destination (so on
the same filesystem) and renamed into place once complete: an interrupted write leaves no
file or directory under the final name, and the temporary one is removed on the way out.
The destination is checked before any work starts, so a run does not simulate for minutes to
find it cannot write its output. Something already there is replaced only with ``force``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from meshsim.errors import MeshsimError

PARTIAL = ".partial-"  # temporary names are ``.partial-<hex>-<final name>``


class OutputError(MeshsimError):
    """A destination meshsim will not write: it exists, is not writable, or names no place."""


def partial_name(final: Path) -> Path:
    """A hidden sibling of ``final`` that keeps its suffix (plots pick their format by it)."""
    return final.with_name(f"{PARTIAL}{uuid.uuid4().hex[:8]}-{final.name}")


def _named(dest: str | Path) -> Path:
    """``dest`` as a path that names a new entry: not empty, not ``.``, not the working dir."""
    if isinstance(dest, str) and not dest.strip():
        raise OutputError("'': an empty path would write into the current directory; "
                          "give a name, e.g. runs/mine")
    path = Path(dest)
    cwd = Path.cwd()
    if path.name in ("", ".", "..") or path.resolve() in (cwd, *cwd.parents):
        empty = " (an empty path reads as '.')" if str(path) == "." else ""
        raise OutputError(f"{str(dest)!r}: is the current directory or one above it{empty}; "
                          "give a name of its own, e.g. runs/mine")
    return path


def _check_parent(path: Path) -> None:
    """The nearest existing ancestor must be a directory this process may write in."""
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{path}: cannot be created, {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot be created, {ancestor} is not writable")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


# -- files --------------------------------------------------------------------------------------
def check_file(dest: str | Path, *, force: bool = False) -> Path:
    """Refuse, before any work, a file destination that cannot or must not be written."""
    path = _named(dest)
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name")
    if path.exists() and not force:
        raise OutputError(f"{path}: already exists; use --force to overwrite it")
    _check_parent(path)
    return path


def write_file(dest: str | Path, write: Callable[[Path], object], *, force: bool = False) -> Path:
    """Call ``write(temporary path)`` and rename the file into place; nothing is left half
    written. Without ``force`` a file that appeared meanwhile is not overwritten."""
    path = check_file(dest, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = partial_name(path)
    try:
        write(temp)
        _place_file(temp, path, force=force)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({_reason(exc)})") from None
    finally:
        temp.unlink(missing_ok=True)
    return path


def _place_file(temp: Path, path: Path, *, force: bool) -> None:
    if force:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # fails if path exists: no overwrite even in a race
    except FileExistsError:
        raise OutputError(f"{path}: already exists; use --force to overwrite it") from None
    except OSError:  # a filesystem without hard links
        if path.exists():
            raise OutputError(f"{path}: already exists; use --force to overwrite it") from None
        os.replace(temp, path)


# -- directories --------------------------------------------------------------------------------
def check_dir(
    dest: str | Path, *, force: bool = False, replaceable: Callable[[Path], bool],
    what: str = "directory",
) -> Path:
    """Refuse, before any work, a directory destination that cannot or must not be written.

    An empty directory is fine (it is replaced). A non-empty one needs ``force`` and must pass
    ``replaceable`` (a run directory is replaced only by a run, never a home directory).
    """
    path = _named(dest)
    if path.is_symlink():
        raise OutputError(f"{path}: is a symbolic link; give the {what} itself")
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"{path}: exists and is not a directory")
        if any(path.iterdir()):
            if not replaceable(path):
                raise OutputError(f"{path}: exists and is not empty, and is not a {what}; "
                                  "give a new or empty directory")
            if not force:
                raise OutputError(f"{path}: already holds a {what}; use --force to replace "
                                  "it, or give a new directory")
    _check_parent(path)
    return path


class StagedDir:
    """A directory written at :attr:`path`, a hidden sibling of :attr:`dest`, and renamed to
    ``dest`` by :meth:`commit`. As a context manager it commits on success and discards on
    any exception, including an interrupt."""

    def __init__(
        self, dest: str | Path, *, force: bool = False,
        replaceable: Callable[[Path], bool], what: str = "directory",
    ) -> None:
        self.dest = check_dir(dest, force=force, replaceable=replaceable, what=what)
        self.force, self._replaceable, self._what = force, replaceable, what
        self._created = _missing_ancestors(self.dest)
        self.path = partial_name(self.dest)
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()
        except OSError as exc:
            self._remove_created()
            raise OutputError(f"{self.dest}: cannot be created ({_reason(exc)})") from None
        self.done = False

    def __enter__(self) -> StagedDir:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.done:
            return
        if kind is None:
            self.commit()
        else:
            self.discard()

    def commit(self) -> Path:
        """Rename the staged directory into place (replacing an old one only with ``force``)."""
        try:
            try:
                os.rename(self.path, self.dest)  # atomic; also replaces an empty directory
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                    raise
                self._replace()
        except OSError as exc:
            self.discard()
            raise OutputError(f"{self.dest}: cannot be written ({_reason(exc)})") from None
        except BaseException:
            self.discard()
            raise
        self.done = True
        return self.dest

    def discard(self) -> None:
        """Remove what was staged (and the parents this created); the destination is as it was."""
        self.done = True
        shutil.rmtree(self.path, ignore_errors=True)
        self._remove_created()

    def _replace(self) -> None:
        """Swap in the new directory for an old one: atomic where the kernel can exchange two
        names, otherwise two renames with the old one moved aside first."""
        dest = self.dest
        if dest.is_symlink() or not dest.is_dir():
            raise OutputError(f"{dest}: exists and is not a directory")
        if not self.force:
            raise OutputError(f"{dest}: appeared while this ran; use --force to replace it")
        if not self._replaceable(dest):
            raise OutputError(f"{dest}: is not a {self._what}; it is not replaced")
        if _exchange(self.path, dest):
            shutil.rmtree(self.path, ignore_errors=True)  # now holds the old directory
            return
        aside = partial_name(dest)
        os.rename(dest, aside)
        try:
            os.rename(self.path, dest)
        except BaseException:
            os.rename(aside, dest)
            raise
        shutil.rmtree(aside, ignore_errors=True)

    def _remove_created(self) -> None:
        for folder in self._created:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break


def _missing_ancestors(path: Path) -> list[Path]:
    missing, folder = [], path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two names in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    platform or filesystem cannot."""
    if sys.platform != "linux":
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    status = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(status == 0)
