"""Where runs go: inline, a process pool, or a Dask cluster, behind one :func:`execute`.

Sweeps, SLO checks, canary rehearsals and what-if analysis all hand their runs here. The
function they run must be top level in its module: the pool and Dask pickle it by qualified
name, so workers need meshsim installed (the same version) but not the scenario files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from meshsim.errors import MeshsimError

Task = tuple[Hashable, tuple[Any, ...]]  # (key the result comes back under, the call's args)
Finish = Callable[[Hashable, Any], None]
DaskTarget = Any  # "local", a scheduler address, or a distributed.Client
DASK_CONNECT_TIMEOUT = "5s"  # how long to wait for a scheduler before saying it is unreachable


class DaskUnavailable(MeshsimError):
    """``dask=`` was given but Dask is not installed or the scheduler cannot be reached."""


def execute(
    fn: Callable[..., Any], tasks: Sequence[Task], finish: Finish, *,
    workers: int | None = None, dask: DaskTarget | None = None,
) -> None:
    """Call ``fn(*args)`` for every task and ``finish(key, result)`` as each one completes.

    ``dask`` sends the calls to a Dask cluster; otherwise ``workers=1`` (or a single task)
    runs them inline, in order, and anything else on a process pool of ``workers`` (default:
    CPU count). Completion order differs between them, so callers place results by key.
    """
    if dask is not None:
        _on_dask(fn, tasks, finish, workers, dask)
    elif workers == 1 or len(tasks) <= 1:
        _inline(fn, tasks, finish)
    else:
        _on_pool(fn, tasks, finish, workers)


def _inline(fn: Callable[..., Any], tasks: Sequence[Task], finish: Finish) -> None:
    for key, args in tasks:
        finish(key, fn(*args))


def _on_pool(
    fn: Callable[..., Any], tasks: Sequence[Task], finish: Finish, workers: int | None,
) -> None:
    n = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=min(n, len(tasks))) as pool:
        pending = {pool.submit(fn, *args): key for key, args in tasks}
        for future in as_completed(pending):
            finish(pending[future], future.result())


def _on_dask(
    fn: Callable[..., Any], tasks: Sequence[Task], finish: Finish, workers: int | None,
    target: DaskTarget,
) -> None:
    if not tasks:
        return
    with dask_client(target, workers) as client:
        from distributed import as_completed as dask_completed

        futures = {client.submit(fn, *args, pure=False): key for key, args in tasks}
        for future in dask_completed(list(futures)):
            finish(futures[future], future.result())


@contextmanager
def dask_client(target: DaskTarget, workers: int | None) -> Iterator[Any]:
    """A client on ``target``; a ``LocalCluster`` (one thread per worker process) for "local".

    A client passed in stays open; one made here is closed with its cluster afterwards.
    """
    if not isinstance(target, str):
        yield target
        return
    try:
        from distributed import Client
    except ImportError:
        raise DaskUnavailable(
            "--dask needs Dask: pip install 'meshsim[dask]' (or dask[distributed])"
        ) from None
    if target == "local":
        with _local_client(workers) as client:
            yield client
        return
    with _connect(Client, target) as client:
        yield client


@contextmanager
def _local_client(workers: int | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    n = workers or os.cpu_count() or 1
    with LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=":0", worker_dashboard_address=None,  # a free port: never clash
        silence_logs=logging.ERROR,
    ) as cluster, Client(cluster) as client:
        yield client


def _connect(client_class: Any, target: str) -> Any:
    """A client on the scheduler at ``target``, or one line saying why there is none."""
    try:
        return client_class(target, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DaskUnavailable(f"--dask {target}: cannot reach the scheduler ({reason})") from None
