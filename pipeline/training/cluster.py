"""Run a command as one worker of a TensorFlow cluster, or every worker of one on this machine.

`training.strategy: multi_worker` trains over the cluster that $TF_CONFIG names; this sets it.

On each of two machines, in its own checkout (worker 0 first, then worker 1):

    python -m pipeline.training.cluster --workers hosta:2222,hostb:2222 --index 0 -- dvc repro -s train@cnn_64
    python -m pipeline.training.cluster --workers hosta:2222,hostb:2222 --index 1 -- dvc repro -s train@cnn_64

On this machine, for a try or a test (free loopback ports, every worker started and awaited):

    python -m pipeline.training.cluster --local 2 --timeout 600 -- python -m tests.train_worker multi_worker out

Every worker ends with the same weights, and writes its outputs where it runs: two local
workers must not share a working directory's outputs.
"""

import argparse
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time

from pipeline.errors import PipelineError, run


def tf_config(workers: list[str], index: int) -> str:
    """The TF_CONFIG of worker `index` in a cluster of `workers` (host:port each)."""
    for address in workers:
        host, _, port = address.rpartition(":")
        if not host or not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:
            raise PipelineError(f"--workers: {address!r} is not host:port")
    if not 0 <= index < len(workers):
        raise PipelineError(f"--index {index}: the cluster has workers 0 to {len(workers) - 1}")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def free_loopback_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now (all probed at once, so that they differ)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def run_local_cluster(count: int, command: list[str], timeout: float) -> int:
    """Start `command` as each of `count` workers on loopback and wait for all of them.

    When one fails, the time runs out or the launcher is told to stop (SIGTERM, Ctrl-C), every
    worker is stopped with all its processes (each runs in a process group of its own): they
    would otherwise wait for their peer forever. Returns the first failure's exit status, or 0.
    """
    workers = [f"127.0.0.1:{port}" for port in free_loopback_ports(count)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    processes = []
    try:
        for index in range(count):
            processes.append(subprocess.Popen(
                command, env={**os.environ, "TF_CONFIG": tf_config(workers, index)}, start_new_session=True
            ))  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            statuses = [process.poll() for process in processes]
            failed = [(index, status) for index, status in enumerate(statuses) if status]
            if failed:
                index, status = failed[0]
                if status < 0:
                    print(f"error: worker {index} was killed by signal {-status}", file=sys.stderr)
                return status if status > 0 else 128 - status
            if None not in statuses:
                return 0
            if time.monotonic() > deadline:
                print(f"error: the cluster did not finish within {timeout:g} s", file=sys.stderr)
                return 124
            time.sleep(0.2)
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the worker and everything it started
            except ProcessLookupError:
                pass
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--workers", help="every worker's host:port, comma-separated, the same list on every machine")
    where.add_argument("--local", type=int, metavar="N", help="run N workers on this machine, on free loopback ports")
    parser.add_argument("--index", type=int, help="with --workers: this machine's place in the list, from 0")
    parser.add_argument("--timeout", type=float, default=3600, help="with --local: seconds before all are stopped")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command each worker runs")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise PipelineError("no command given: put it after --")
    if args.local is not None:
        if not 1 <= args.local <= 64:
            raise PipelineError(f"--local {args.local}: between 1 and 64 workers")
        if not (math.isfinite(args.timeout) and args.timeout > 0):
            raise PipelineError(f"--timeout {args.timeout:g}: a number of seconds above 0")
        sys.exit(run_local_cluster(args.local, command, args.timeout))
    if args.index is None:
        raise PipelineError("--workers needs --index, this machine's place in the list")
    config = tf_config(args.workers.split(","), args.index)
    os.execvpe(command[0], command, {**os.environ, "TF_CONFIG": config})


if __name__ == "__main__":
    run(main)
