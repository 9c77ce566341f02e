"""Run a command; write the peak resident memory of its process tree, in KB, to a file.

Usage: python -m benchmarks.peak_memory REPORT_FILE COMMAND...

The figure is the largest sum, over the command and all its descendants at one moment, of
their proportional set size (PSS: private memory, plus each shared page divided among the
processes sharing it), sampled twice a second. A `train@` stage runs its seeds in worker
processes side by side, and what the machine must hold is all of them together, with
TensorFlow's libraries, mapped by every worker, held once. (The kernel's own peak, from
wait4, is the largest single process.) This small process runs the command, rather than
the benchmark itself, which holds TensorFlow and the data.
"""

import subprocess
import sys
import time
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.5


def tree_pss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_full_info().pss
        except psutil.Error:  # it ended between listing and reading
            pass
    return total


def main() -> None:
    report, *command = sys.argv[1:]
    child = subprocess.Popen(command)
    watched, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, tree_pss(watched))
        except psutil.Error:
            pass
        time.sleep(SAMPLE_SECONDS)
    Path(report).write_text(str(peak // 1024))
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
