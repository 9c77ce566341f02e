"""Expected failures: reported as one line naming the file or key, never as a traceback."""

import sys
from collections.abc import Callable


class PipelineError(Exception):
    """Bad input or a bad parameter: the message names the file or key and what was expected."""


def run(main: Callable[[], None]) -> None:
    """Run a stage's main(); turn a PipelineError into one line on stderr and exit status 1."""
    try:
        main()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
