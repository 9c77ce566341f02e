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
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from pipeline.architecture.memory import available_memory
from pipeline.errors import PipelineError


def cores() -> int:
    """The CPU cores this process may run on (a container's or `taskset`'s limit included)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count(jobs: int, memory_each: int = 0) -> int:
    """A worker per core; but every job at once while that is at most half again as many as cores.
    Never more than the memory available now holds, at `memory_each` bytes a worker.

    Three seeds on two cores as two rounds would leave a core idle for the whole last round,
    a third of the time; three at once share the two cores and finish a quarter sooner (with
    one thread each, sharing does not change a job's result). Fewer workers at once is slower,
    but the out-of-memory killer would end the stage.
    """
    available = cores()
    by_cores = jobs if jobs <= available + available // 2 else available
    by_memory = available_memory() // memory_each if memory_each else by_cores
    return max(1, min(by_cores, by_memory))


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


def run_job(results: Connection, parent: int, threads_each: int | None, function: Callable, job: tuple) -> None:
    """The body of a job's process: run it in its slots and send back ("ok", result) or ("error", error)."""
    exit_with_parent(parent)
    try:
        outcome = ("ok", run_in_a_slot(threads_each, function, *job))
    except Exception as error:  # raised again in the stage, which reports it
        outcome = ("error", error)
    results.send(outcome)
    results.close()


def death(label: str, process: BaseProcess) -> PipelineError:
    """What to say of a job's process that ended without sending its outcome.

    The kernel's out-of-memory killer sends SIGKILL, so that signal is the usual sign of it.
    """
    process.join(5)
    code = process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        hint = "; out of memory?" if -code == signal.SIGKILL else ""
        return PipelineError(f"{label}: the training process was killed ({name}){hint}")
    return PipelineError(f"{label}: the training process exited with status {code} before it finished")


def stop(process: BaseProcess) -> None:
    """End a job's process: SIGTERM, then SIGKILL if it has not ended within five seconds."""
    if process.is_alive():
        process.terminate()
        process.join(5)
    if process.is_alive():
        process.kill()
    process.join()


def run_side_by_side(
    function: Callable,
    jobs: Sequence[tuple],
    workers: int,
    threads_each: int | None = 1,
    labels: Sequence[str] | None = None,
) -> list:
    """function(*job) for every job, `workers` at a time, results in the jobs' order.

    Each job runs in a fresh process (spawned, one job per process): TensorFlow's threads
    and seeds are set once, before its first operation, and nothing of one job carries into
    the next, so a job's result does not depend on which worker ran it or on what ran before.
    Each job holds a training slot for each of its `threads_each` threads while it runs (None: no
    slot, for the workers of a multi-worker cluster, which must all run at once).
    Every process is watched, not only its result: the first job to fail, or whose process ends
    without a result (killed by a signal, the out-of-memory killer's SIGKILL included), stops the
    others at once; its error is raised here, naming the job by its label.
    """
    context = multiprocessing.get_context("spawn")
    labels = list(labels or (f"job {index + 1}" for index in range(len(jobs))))
    waiting, running, results = list(range(len(jobs))), {}, [None] * len(jobs)
    try:
        while waiting or running:
            while waiting and len(running) < workers:
                index = waiting.pop(0)
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(
                    target=run_job, args=(sender, os.getpid(), threads_each, function, jobs[index]), daemon=True
                )
                process.start()
                sender.close()  # only the job's process holds it: its end is the pipe's end
                running[index] = (process, receiver)
            wait([receiver for _, receiver in running.values()])  # an outcome, or a process that ended
            for index, (process, receiver) in list(running.items()):
                if not receiver.poll():
                    continue
                try:
                    kind, value = receiver.recv()
                except EOFError:
                    raise death(labels[index], process) from None
                if kind == "error":
                    raise value
                results[index] = value
                receiver.close()
                process.join()
                del running[index]
        return results
    finally:
        for process, _ in running.values():  # after a failure or an interruption: the others stop at once
            stop(process)
