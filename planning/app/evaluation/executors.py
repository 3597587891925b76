r"""Executors behind one :class:`concurrent.futures.Executor` interface.

=============== ==================================================================
kind            executor
=============== ==================================================================
``serial``      :class:`SerialExecutor`: runs each task when submitted, in this process
``processes``   :class:`concurrent.futures.ProcessPoolExecutor` (spawned workers)
``dask``        ``dask.distributed``: a ``LocalCluster`` of ``workers`` processes, or
                the cluster at ``scheduler`` (an address such as ``tcp://host:8786``);
                ``Client.get_executor()``
=============== ==================================================================

Tasks are pure functions of their arguments (seeds included), so results do
not depend on the executor, the number of workers or the order tasks finish
in. Workers run single-threaded numerical libraries: the tasks are many and
small, and on shared cores threads that wait for each other are slower.

Both the process and the Dask executors start worker processes by spawning
them: a script that calls the harness with either must guard its entry point
with ``if __name__ == "__main__":`` (the command line does).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

from planning.errors import PlanningError

__all__ = ["SerialExecutor", "check_executor", "open_executor"]

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.profile.interval": "1s",
    "distributed.worker.profile.cycle": "10s",
}


class SerialExecutor(Executor):
    """Runs every task at once in the calling process (the reference executor)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` now; the returned future is already done."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt):
                raise
            future.set_exception(err)
        return future


def _single_threaded() -> None:
    """Worker initialiser: one BLAS thread."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)


def _dask_client(workers: int | None, scheduler: str | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise PlanningError(
            "--executor dask needs dask.distributed, which is not installed; install it with "
            "pip install 'rdsplan[dask]' (or use --executor processes)"
        ) from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as err:
            raise PlanningError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    import dask

    # The workers' statistical profiler samples every thread's stack every 10 ms, which costs
    # pure-Python tasks a few percent under the GIL; the workers inherit this configuration.
    with dask.config.set(_DASK_CONFIG):
        cluster = LocalCluster(
            n_workers=workers or max(1, os.cpu_count() or 1),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,
            env={name: "1" for name in _THREAD_VARIABLES},
        )
    return Client(cluster), cluster


def check_executor(kind: str, workers: int | None = None, scheduler: str | None = None) -> None:
    """Refuse an executor request that cannot work, before any work is done.

    Raises
    ------
    planning.errors.PlanningError
        For an unknown kind, a scheduler without ``dask``, a worker count
        below one, or Dask missing.
    """
    if kind not in ("serial", "processes", "dask"):
        raise PlanningError(f"unknown executor {kind!r}; choose serial, processes or dask")
    if scheduler and kind != "dask":
        raise PlanningError("--scheduler needs --executor dask")
    if workers is not None and workers < 1:
        raise PlanningError(f"--workers must be at least 1, got {workers}")
    if kind == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise PlanningError(
                "--executor dask needs dask.distributed, which is not installed; install it with "
                "pip install 'rdsplan[dask]' (or use --executor processes)"
            ) from None


@contextlib.contextmanager
def open_executor(
    kind: str = "serial", workers: int | None = None, scheduler: str | None = None
) -> Iterator[Executor]:
    """An executor of ``kind`` (module docstring), shut down on exit.

    Parameters
    ----------
    kind : {"serial", "processes", "dask"}
    workers : int, optional
        Worker processes (default: the number of cores).
    scheduler : str, optional
        Address of a running Dask scheduler (``dask`` only); default a LocalCluster.

    Raises
    ------
    planning.errors.PlanningError
        For an unknown kind, a scheduler without ``dask``, or Dask missing.
    """
    check_executor(kind, workers, scheduler)
    if kind == "serial":
        yield SerialExecutor()
    elif kind == "processes":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(
            max_workers=workers or max(1, os.cpu_count() or 1),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_single_threaded,
        )
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    elif kind == "dask":
        client, cluster = _dask_client(workers, scheduler)
        try:
            if scheduler is None:
                client.run(_single_threaded)
            yield client.get_executor(pure=False)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
