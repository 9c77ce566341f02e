"""Hide the start-up lines that importing TensorFlow 2.21 prints, and only those.

`import tensorflow` prints, twice, "WARNING: All log messages before absl::InitializeLog() is
called are written to STDERR" and an INFO line that oneDNN is on (which pipeline/__init__.py
pins on purpose); TensorFlow's GPU wheel adds a line that no CUDA driver was found. No
setting hides them (TF_CPP_MIN_LOG_LEVEL does not reach messages logged before absl's log is
initialised), and a newcomer sees one "WARNING" per stage and worker. They are written by C++
straight to file descriptor 2, so during the import that descriptor is a pipe into a small
filter process, which passes on every line but those three kinds as it reads them. Being a
process of its own, it still passes on a fatal message when the import aborts this one (as
TensorFlow does on a CPU without the instructions it was built for).
"""

import importlib.abc
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

HARMLESS = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|^I0000 [\d:. ]+ port\.cc:\d+\] oneDNN custom operations are on\."
    r"|^I0000 [\d:. ]+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will not be used\.$"
)


# The filter's own code: the standard library only (-I -S), so that it starts in milliseconds.
FILTER = (
    "import re, sys\n"
    "harmless = re.compile(sys.argv[1])\n"
    "for line in sys.stdin.buffer:\n"
    "    if not harmless.search(line.decode(errors='replace').rstrip('\\n')):\n"
    "        sys.stdout.buffer.write(line)\n"
    "        sys.stdout.buffer.flush()\n"
)


@contextmanager
def harmless_lines_dropped() -> Iterator[None]:
    """Meanwhile, file descriptor 2 goes through the filter; its lines come out before this returns.

    Without a usable descriptor 2 (closed, or no sys.stderr) nothing is changed.
    """
    try:
        if sys.stderr is None:
            raise OSError("no stderr")
        sys.stderr.flush()
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        line_filter = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", FILTER, HARMLESS.pattern], stdin=subprocess.PIPE, stdout=saved,
            stderr=saved,
        )  # fmt: skip
    except OSError:
        os.close(saved)
        yield
        return
    os.dup2(line_filter.stdin.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        line_filter.stdin.close()
        line_filter.wait()


class QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with harmless start-up lines dropped."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        with harmless_lines_dropped():
            self.loader.exec_module(module)


class QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as Python would, once, and hands it QuietLoader."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = QuietLoader(spec.loader)
        return spec


def hide_tensorflow_start_up_lines() -> None:
    """Make the first `import tensorflow` (Keras's included) quiet; call before it happens."""
    if "tensorflow" not in sys.modules and not any(isinstance(f, QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlowImport())
