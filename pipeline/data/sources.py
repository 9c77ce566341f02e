"""Where Fashion-MNIST can come from, and fetching a file from the first source that has it.

A file is accepted only when the SHA-256 of its decompressed payload matches the expected
one; the gzip bytes differ between mirrors, the payload does not.
"""

import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.data.fashion_mnist import FILES, IdxFile
from pipeline.data.idx import decompress
from pipeline.errors import PipelineError
from pipeline.files.paths import declared_path

ENV_DIR = "FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_CACHE_DIR = Path.home() / ".keras" / "datasets" / "fashion-mnist"
ZALANDO_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"  # no HTTPS offered
KERAS_MIRROR_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
COMPRESSED_SLACK = 65_536  # gzip of incompressible data is slightly larger than its payload


@dataclass(frozen=True)
class Source:
    """A directory or a base URL that may hold the gzipped IDX files."""

    label: str
    location: str
    is_url: bool = False

    def read(self, name: str, max_bytes: int, timeout: float, attempts: int) -> bytes:
        """Return at most max_bytes of the named file; raise OSError when it cannot be had."""
        if not self.is_url:
            with open(Path(self.location) / name, "rb") as file:
                return file.read(max_bytes + 1)
        for attempt in range(1, attempts + 1):
            try:
                with urllib.request.urlopen(self.location + name, timeout=timeout) as response:
                    return response.read(max_bytes + 1)
            except (OSError, http.client.HTTPException) as error:
                if attempt == attempts or isinstance(error, urllib.error.HTTPError):
                    raise
                time.sleep(attempt)
        raise AssertionError("unreachable")


def default_sources() -> list[Source]:
    """The sources in the order they are tried: local copies first, the network last."""
    sources = []
    if os.environ.get(ENV_DIR):
        sources.append(Source(f"${ENV_DIR}", os.environ[ENV_DIR]))
    sources += [
        Source("Debian package dataset-fashion-mnist", str(DEBIAN_DIR)),
        Source("Keras cache", str(KERAS_CACHE_DIR)),
        Source("Zalando Research", ZALANDO_URL, is_url=True),
        Source("Keras mirror", KERAS_MIRROR_URL, is_url=True),
    ]
    return sources


def verified_payload(file: IdxFile, data: bytes, origin: str) -> bytes:
    """Decompress a downloaded file and check its size and SHA-256; raise PipelineError if not."""
    max_compressed = file.size + COMPRESSED_SLACK
    if len(data) > max_compressed:
        raise PipelineError(f"{origin}: larger than the expected {max_compressed:,} bytes; refused")
    payload = decompress(data, file.size, origin)
    digest = hashlib.sha256(payload).hexdigest()
    if digest != file.sha256:
        raise PipelineError(f"{origin}: SHA-256 of the payload is {digest}, expected {file.sha256}")
    return payload


def fetch_verified(
    file: IdxFile,
    sources: Sequence[Source],
    timeout: float = 30.0,
    attempts: int = 2,
) -> tuple[bytes, Source]:
    """Return the verified payload of a file from the first source that has a good copy."""
    failures = []
    for source in sources:
        origin = f"{source.location.rstrip('/')}/{file.gz_name}"
        try:
            data = source.read(file.gz_name, file.size + COMPRESSED_SLACK, timeout, attempts)
            payload = verified_payload(file, data, origin)
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or repr(error)
            failures.append(f"  {source.label}: {origin}: {reason}")
        except PipelineError as error:
            failures.append(f"  {source.label}: {error}")
        else:
            if failures:  # a copy the user pointed to may have been refused: say so and why
                print(f"{file.gz_name}: taken from {source.label} after trying:", *failures, sep="\n", file=sys.stderr)
            return payload, source
    raise PipelineError(
        f"no source has a verified copy of {file.gz_name}; tried:\n"
        + "\n".join(failures)
        + f"\nInstall Debian's dataset-fashion-mnist or set {ENV_DIR} to a directory holding the files."
    )


def local_copy(directories: Sequence[Path]) -> Path | None:
    """The first directory holding verified copies of all four files, or None."""
    for directory in directories:
        try:
            for file in FILES:
                fetch_verified(file, [Source(str(directory), str(directory))])
        except PipelineError:
            continue
        return directory
    return None


if __name__ == "__main__":
    # `python -m pipeline.data.sources`: exit 0 if a verified local copy exists (used by the Makefile).
    candidates = [declared_path("raw")] + [Path(s.location) for s in default_sources() if not s.is_url]
    found = local_copy(candidates)
    print(f"Fashion-MNIST: verified copy in {found}" if found else "Fashion-MNIST: no verified local copy")
    raise SystemExit(0 if found else 1)
