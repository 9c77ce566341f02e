"""Independent trainings side by side: one process per job, about as many at a time as cores.

DVC runs one stage at a time, so a stage that trains several seeds runs them side by side
itself, each in a process of its own with a fixed thread count: more cores then mean more
seeds at once, never other results. What that gains over one process with a thread per core
depends on the machine; `make bench` measures it.

Several experiments at once (`dvc queue start -j 2`) run several stages at once, each unaware
of the others. So every training process first takes a training slot per thread it runs
(lock files, one set per user), out of as many as the rule below allows on this machine's
cores. A second experiment's seeds wait for free slots instead of crowding the cores and the
memory; which process waits never changes a result.
"""

import fcntl
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import PipelineError


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


def slot_count() -> int:
    """The machine's training slots, one per TensorFlow thread: the threads of worker_count's
    busiest case (three one-thread trainings on two cores), all stages and experiments together."""
    return cores() + cores() // 2


def slots_directory() -> Path:
    """This user's directory of slot lock files: in $XDG_RUNTIME_DIR, else the temporary directory.

    Refused when another user owns it or others may write to it: they could hold every slot.
    """
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    directory = Path(base) / f"fashion-mnist-training-slots-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    status = directory.lstat()
    if not directory.is_dir() or directory.is_symlink() or status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise PipelineError(f"{directory}: not a directory of this user's own that others cannot write to")
    return directory


@contextmanager
def training_slot(threads_each: int, poll_seconds: float = 0.2) -> Iterator[list[int]]:
    """Hold a slot per thread meanwhile (all the slots at most), waiting until that many are free.

    A slot is an exclusive lock on a file; the kernel releases it when its process ends, even
    killed, so a crashed training never keeps one. A process that finds too few free slots
    lets go of those it took before it waits, so two waiting processes never block each other.
    """
    directory, count, told = slots_directory(), slot_count(), False
    wanted = min(threads_each, count)
    while True:
        held = []
        for index in range(count):
            handle = open(directory / f"slot_{index}", "a")  # held, locked, while the slot is
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            held.append((index, handle))
            if len(held) == wanted:
                break
        if len(held) == wanted:
            try:
                yield [index for index, _ in held]
            finally:
                for _, handle in held:
                    handle.close()
            return
        for _, handle in held:
            handle.close()
        if not told:
            print(f"waiting for {wanted} training slot(s): this machine's {count} are taken", flush=True)
            told = True
        time.sleep(poll_seconds)


def run_in_a_slot(threads_each: int | None, function: Callable, *args: object) -> object:
    """function(*args) once its training slots are free (the body of every side-by-side job);
    with `threads_each` None, at once."""
    if threads_each is None:
        return function(*args)
    with training_slot(threads_each):
        return function(*args)


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


def run_side_by_side(
    function: Callable, jobs: Sequence[tuple], workers: int, threads_each: int | None = 1
) -> list:
    """function(*job) for every job, `workers` at a time, results in the jobs' order.

    Each job runs in a fresh process (spawned, one job per process): TensorFlow's threads
    and seeds are set once, before its first operation, and nothing of one job carries into
    the next, so a job's result does not depend on which worker ran it or on what ran before.
    Each job holds a training slot for each of its `threads_each` threads while it runs (None: no
    slot, for the workers of a multi-worker cluster, which must all run at once).
    The first job to fail stops the others at once; its error is raised here.
    """
    failed = threading.Event()
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=exit_with_parent, initargs=(os.getpid(),), maxtasksperchild=1)
    try:
        pending = [
            pool.apply_async(run_in_a_slot, (threads_each, function, *job), error_callback=lambda _: failed.set())
            for job in jobs
        ]
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
