"""Progress of many runs: the caller's callback, nothing, or a rich bar on stderr."""

from __future__ import annotations

from collections.abc import Callable

Report = Callable[[int, int], None]
Progress = bool | Report  # True: a bar on stderr; a callable gets (done, total)


def progress_reporter(
    progress: Progress, total: int, label: str = "sweep"
) -> tuple[Report, Callable[[], None]]:
    """``(report(done, total), close())``: the caller's callback, nothing, or a rich bar on
    stderr (``progress=True``) for the runs of a sweep, map or recommendation."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda done, total: None), lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )
    task = bar.add_task(label, total=total)
    bar.start()
    return (lambda done, total: bar.update(task, completed=done, total=total)), bar.stop
