"""Expected failures: reported as one line naming the file or key, never as a traceback."""

import errno
import os
import sys
from collections.abc import Callable

FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left, or over the disk quota


class PipelineError(Exception):
    """Bad input or a bad parameter: the message names the file or key and what was expected."""


def run(main: Callable[[], None]) -> None:
    """Run a stage's main(); turn an expected failure into one line on stderr and exit status 1.

    Expected: a PipelineError, an operating-system error on a named file (an output
    directory that is read-only, a path through a file), or a full disk, which a library's
    write may report without naming its file.
    """
    try:
        main()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except OSError as error:
        if error.filename is None and error.errno not in FULL:
            raise
        reason = error.strerror or os.strerror(error.errno)
        if error.filename is None:
            where = "while writing this stage's outputs; free some space and run it again"
            print(f"error: {reason} {where}", file=sys.stderr)
        else:
            print(f"error: {error.filename}: {reason}", file=sys.stderr)
        sys.exit(1)
