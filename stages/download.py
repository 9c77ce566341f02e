"""Stage `download`: the four Fashion-MNIST IDX files, verified, into <out>/.

Each file comes from the first source holding a copy whose payload has the expected
SHA-256. It is written re-gzipped with a fixed header (no timestamp), so <out>/ has
the same bytes whichever mirror it came from, and through a temporary name, so the
directory never holds a partial or unverified file.
"""

import gzip
import os
import tempfile
from pathlib import Path

from pipeline.data.fashion_mnist import FILES
from pipeline.data.sources import default_sources, fetch_verified
from pipeline.errors import PipelineError, run
from pipeline.files.cli import parse_arguments


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def download(out_dir: Path) -> None:
    """Fetch, verify and store every file; fail on the first file that no source has."""
    sources = default_sources()
    for file in FILES:
        payload, source = fetch_verified(file, sources)
        write_atomically(out_dir / file.gz_name, gzip.compress(payload, compresslevel=6, mtime=0))
        print(f"{file.gz_name}: verified, from {source.label} ({source.location})")


def main() -> None:
    args = parse_arguments(__doc__, out="where the four IDX gzip files go")
    try:
        download(args.out)
    except OSError as error:
        raise PipelineError(f"{error.filename or args.out}: cannot write ({error.strerror})") from None


if __name__ == "__main__":
    run(main)
