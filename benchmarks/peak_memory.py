"""Run a command; write the peak resident memory of its process tree, in KB, to a file.

Usage: python -m benchmarks.peak_memory REPORT_FILE COMMAND...

The benchmark process holds TensorFlow and the data set, and a child forked from it starts
out counting those shared pages as its own, so its peak would be the benchmark's. This
small process forks the command instead; wait4 then reports the largest resident size of
the command and of every descendant it waited for (the stage under `dvc repro`).
"""

import os
import subprocess
import sys
from pathlib import Path


def main() -> None:
    report, *command = sys.argv[1:]
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    Path(report).write_text(str(usage.ru_maxrss))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
