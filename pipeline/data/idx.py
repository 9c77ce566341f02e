"""Reading IDX files (the MNIST format) safely: bounded decompression, every header field checked.

An IDX file is a big-endian header, magic number then one int32 per dimension, followed by
the unsigned bytes of the array. 2051 is a 3-D image file, 2049 a 1-D label file.
"""

import struct
import zlib
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
DIMENSIONS = {IMAGES_MAGIC: 3, LABELS_MAGIC: 1}


def decompress(data: bytes, max_size: int, source: str) -> bytes:
    """Gunzip at most max_size bytes; a larger payload is refused (no decompression bomb)."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        payload = decompressor.decompress(data, max_size + 1)
    except zlib.error as error:
        raise PipelineError(f"{source}: not a valid gzip file ({error})") from None
    if len(payload) > max_size:
        raise PipelineError(f"{source}: decompresses to more than the expected {max_size:,} bytes; refused")
    if not decompressor.eof:
        raise PipelineError(f"{source}: gzip stream is truncated")
    return payload


def read_gzip(path: Path, max_size: int, max_compressed: int | None = None) -> bytes:
    """Read and gunzip a file, refusing files larger than their expected size."""
    max_compressed = max_compressed or max_size + 65_536
    try:
        with open(path, "rb") as file:
            data = file.read(max_compressed + 1)
    except OSError as error:
        raise PipelineError(f"{path}: cannot read ({error.strerror})") from None
    if len(data) > max_compressed:
        raise PipelineError(f"{path}: larger than the expected {max_compressed:,} bytes; refused")
    return decompress(data, max_size, str(path))


def parse_idx(payload: bytes, source: str, magic: int) -> np.ndarray:
    """Turn an IDX payload into a uint8 array, checking magic, dimensions and length."""
    if len(payload) < 4:
        raise PipelineError(f"{source}: too short for an IDX header ({len(payload)} bytes)")
    (found,) = struct.unpack(">i", payload[:4])
    if found != magic:
        raise PipelineError(f"{source}: magic number {found}, expected {magic}")
    ndim = DIMENSIONS[magic]
    header_size = 4 + 4 * ndim
    if len(payload) < header_size:
        raise PipelineError(f"{source}: header truncated ({len(payload)} of {header_size} bytes)")
    shape = struct.unpack(f">{ndim}i", payload[4:header_size])
    if any(size <= 0 for size in shape):
        raise PipelineError(f"{source}: dimensions {shape} must all be positive")
    expected = header_size + int(np.prod(shape, dtype=np.int64))
    if len(payload) != expected:
        raise PipelineError(f"{source}: {len(payload):,} bytes, expected {expected:,} for an array of shape {shape}")
    return np.frombuffer(payload, dtype=np.uint8, offset=header_size).reshape(shape)


def read_images_and_labels(
    images_path: Path, labels_path: Path, max_images_size: int, max_labels_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Read a gzipped image file and its label file and check that they belong together."""
    images = parse_idx(read_gzip(images_path, max_images_size), str(images_path), IMAGES_MAGIC)
    labels = parse_idx(read_gzip(labels_path, max_labels_size), str(labels_path), LABELS_MAGIC)
    if len(images) != len(labels):
        raise PipelineError(f"{labels_path}: {len(labels):,} labels for {len(images):,} images in {images_path}")
    return images, labels
