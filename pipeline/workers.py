"""Independent trainings side by side: one process per job, about as many at a time as cores.

DVC runs one stage at a time, so a stage that trains several seeds runs them side by side
itself, each in a process of its own with a fixed thread count: more cores then mean more
seeds at once, never other results. What that gains over one process with a thread per core
depends on the machine; `make bench` measures it.
"""

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence


def cores() -> int:
    """The CPU cores this process may run on (a container's or `taskset`'s limit included)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count(jobs: int) -> int:
    """A worker per core; but every job at once while that is at most half again as many as cores.

    Three seeds on two cores as two rounds would leave a core idle for the whole last round,
    a third of the time; three at once share the two cores and finish a quarter sooner (with
    one thread each, sharing does not change a job's result).
    """
    available = cores()
    return max(1, jobs if jobs <= available + available // 2 else available)


def threads_per_worker(threads: int, workers: int) -> int:
    """`threads` from params.yaml: a fixed count, or 0 for the cores shared among the workers."""
    return threads or max(1, cores() // workers)


def exit_with_parent(parent: int, poll_seconds: float = 0.5) -> None:
    """Make this worker exit as soon as its stage, process `parent`, is gone, even killed by SIGKILL.

    An orphaned worker would otherwise finish its training and write a model for a stage that
    DVC saw fail. A worker whose parent dies is handed to another process: it watches for that.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def run_side_by_side(function: Callable, jobs: Sequence[tuple], workers: int) -> list:
    """function(*job) for every job, `workers` at a time, results in the jobs' order.

    Each job runs in a fresh process (spawned, one job per process): TensorFlow's threads
    and seeds are set once, before its first operation, and nothing of one job carries into
    the next, so a job's result does not depend on which worker ran it or on what ran before.
    The first job to fail stops the others at once; its error is raised here.
    """
    failed = threading.Event()
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=exit_with_parent, initargs=(os.getpid(),), maxtasksperchild=1)
    try:
        pending = [pool.apply_async(function, job, error_callback=lambda _: failed.set()) for job in jobs]
        while not failed.is_set() and not all(result.ready() for result in pending):
            failed.wait(0.5)
        for result in pending:
            if result.ready() and not result.successful():
                result.get()  # raises the job's error
        results = [result.get() for result in pending]
        pool.close()
        pool.join()
        return results
    finally:
        pool.terminate()  # after a failure or an interruption: the other jobs stop at once
