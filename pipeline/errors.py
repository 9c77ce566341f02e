"""Expected failures: reported as one line naming the file or key, never as a traceback."""

import sys
from collections.abc import Callable


class PipelineError(Exception):
    """Bad input or a bad parameter: the message names the file or key and what was expected."""


def run(main: Callable[[], None]) -> None:
    """Run a stage's main(); turn an expected failure into one line on stderr and exit status 1.

    Expected: a PipelineError, or an operating-system error on a named file (an output
    directory that is read-only, a full disk, a path through a file).
    """
    try:
        main()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except OSError as error:
        if error.filename is None:
            raise
        print(f"error: {error.filename}: {error.strerror}", file=sys.stderr)
        sys.exit(1)
