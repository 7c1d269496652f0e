"""Dask: where a batch's runs are done (the one importer of ``distributed``).

By default a ``LocalCluster`` sized so that the runs' processes fit the cores
(workers × processes per run ≤ cores), one thread per worker so a worker does one
run at a time. With a scheduler address the runs go to that cluster instead.

A worker that dies mid-run (killed, out of memory) takes no result with it: the
scheduler gives its run to another worker, up to ``retries`` times (Dask's
``allowed-failures``), and then the run is ``lost``. The dead attempt's folder
keeps its manifest "running" and its process gone, which every reader takes as
abandoned, never as complete.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Final

from mmm_runner import constants
from mmm_runner.batch.work import RunResult, RunTask
from mmm_runner.errors import UsageError
from mmm_runner.system import usable_cores

TOPIC: Final = "mmm-batch"  # worker -> client events: a run started
CONNECT_SECONDS: Final = 30
Runner = Callable[[RunTask], RunResult]


def local_workers(cores_per_run: int, cores: int | None = None) -> int:
    """Workers for a machine: as many runs at once as their processes fit the cores."""
    cores = usable_cores() if cores is None else cores
    return max(1, cores // max(1, cores_per_run))


@contextlib.contextmanager
def connect(scheduler: str | None, workers: int, retries: int) -> Iterator[Any]:
    """A Dask client: of the cluster at ``scheduler``, or of a new local cluster.

    ``retries`` is how many times a run whose worker died is given to another
    worker; it applies to the local cluster (an existing scheduler keeps its own
    ``distributed.scheduler.allowed-failures``).
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise UsageError(
                f"cannot reach the Dask scheduler at {scheduler}: {error}",
                hint="Start one (`dask scheduler`) and workers (`dask worker ADDRESS`), or "
                "leave out --scheduler (and MMM_DASK_SCHEDULER) to run on this machine.",
            ) from None
        with client:
            yield client
        return
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": retries}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: never clash with another cluster
            silence_logs=logging.ERROR,
            # Each worker's share of the cores: a run's cross-validation folds and plots
            # size their own pools by it instead of by the whole machine.
            env={constants.ENV_CORES: str(max(1, usable_cores() // workers))},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def dispatch(
    client: Any,
    tasks: list[RunTask],
    runner: Runner,
    started: Callable[[int], None],
    finished: Callable[[RunResult], None],
) -> list[RunResult]:
    """Runs every task on the cluster; returns one result per task, in task order.

    ``started`` hears a task's number when a worker begins it (a retry too),
    ``finished`` each result as it arrives.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    def on_event(event: Any) -> None:
        _, message = event
        if isinstance(message, dict) and message.get("event") == "started":
            started(int(message["number"]))

    client.subscribe_topic(TOPIC, on_event)
    waiting = iter(tasks)
    running = as_completed()
    futures: dict[Any, RunTask] = {}

    def top_up() -> None:
        # Only as many runs in flight as the cluster has threads: a run handed to a busy
        # worker would wait there, and die with it, counted against its retries.
        while running.count() < max(1, sum(client.nthreads().values())):
            task = next(waiting, None)
            if task is None:
                return
            key = f"mmm-run-{task.number}-{uuid.uuid4().hex[:8]}"
            future = client.submit(_on_worker, runner, task, key=key, pure=False)
            futures[future] = task
            running.add(future)

    results: dict[int, RunResult] = {}
    try:
        top_up()
        for future in running:
            task = futures.pop(future)
            try:
                result: RunResult = future.result()
            except KilledWorker as error:
                result = RunResult(task.number, task.name, "lost", error=_lost(error))
            except Exception as error:  # the task could not even start (e.g. unpicklable)
                result = RunResult(
                    task.number, task.name, "failed", 1, error=f"{type(error).__name__}: {error}"
                )
            # Let the scheduler forget it: a result still wanted when its worker dies
            # would be recomputed, i.e. a finished run run again.
            future.release()
            results[task.number] = result
            finished(result)
            top_up()
    finally:
        client.unsubscribe_topic(TOPIC)
        for future in futures:
            future.cancel()  # Ctrl-C: nothing left queued (finished ones are unaffected)
    return [results[t.number] for t in tasks]


def _on_worker(runner: Runner, task: RunTask) -> RunResult:
    """What a worker executes: announce the run, do it, note where it ran."""
    from dataclasses import replace

    from distributed import get_worker

    worker = get_worker()
    worker.log_event(TOPIC, {"event": "started", "number": task.number})
    result = runner(task)
    return replace(result, host=str(worker.address))


def _lost(error: BaseException) -> str:
    return (
        "the worker running it died (killed, out of memory, or its machine lost), "
        f"on every attempt: {error}"
    )
