"""The IDX reader: a round trip, and a clear error naming the file for each kind of bad input."""

import gzip

import numpy as np
import pytest

from pipeline.data.idx import IMAGES_MAGIC, LABELS_MAGIC, decompress, parse_idx, read_gzip, read_images_and_labels
from pipeline.errors import PipelineError
from tests.conftest import idx_bytes, synthetic_split, write_gz

LIMIT = 1_000_000


def write_pair(tmp_path, images, labels, images_magic=IMAGES_MAGIC):
    images_path = write_gz(tmp_path / "images.gz", idx_bytes(images, images_magic))
    labels_path = write_gz(tmp_path / "labels.gz", idx_bytes(labels, LABELS_MAGIC))
    return images_path, labels_path


def test_round_trip(tmp_path):
    images, labels = synthetic_split(30)
    read_images, read_labels = read_images_and_labels(*write_pair(tmp_path, images, labels), LIMIT, LIMIT)
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)
    assert read_images.dtype == np.uint8 and read_images.shape == (30, 28, 28)


def test_wrong_magic_number_names_the_file(tmp_path):
    images, labels = synthetic_split(5)
    images_path, labels_path = write_pair(tmp_path, images, labels, images_magic=2052)
    with pytest.raises(PipelineError, match=rf"{images_path}: magic number 2052, expected 2051"):
        read_images_and_labels(images_path, labels_path, LIMIT, LIMIT)


def test_labels_file_given_as_images_is_refused(tmp_path):
    _, labels = synthetic_split(5)
    with pytest.raises(PipelineError, match="magic number 2049, expected 2051"):
        parse_idx(idx_bytes(labels, LABELS_MAGIC), "x", IMAGES_MAGIC)


def test_truncated_payload(tmp_path):
    images, _ = synthetic_split(5)
    payload = idx_bytes(images, IMAGES_MAGIC)[:-10]
    with pytest.raises(PipelineError, match=r"f: 3,926 bytes, expected 3,936 for an array of shape \(5, 28, 28\)"):
        parse_idx(payload, "f", IMAGES_MAGIC)


def test_truncated_header():
    with pytest.raises(PipelineError, match="header truncated"):
        parse_idx(idx_bytes(np.zeros((2, 2, 2), np.uint8), IMAGES_MAGIC)[:10], "f", IMAGES_MAGIC)


def test_zero_dimension_is_refused():
    with pytest.raises(PipelineError, match="must all be positive"):
        parse_idx(idx_bytes(np.zeros((0, 28, 28), np.uint8), IMAGES_MAGIC), "f", IMAGES_MAGIC)


def test_count_mismatch_names_both_files(tmp_path):
    images, labels = synthetic_split(10)
    images_path, labels_path = write_pair(tmp_path, images, labels[:9])
    with pytest.raises(PipelineError, match=rf"{labels_path}: 9 labels for 10 images in {images_path}"):
        read_images_and_labels(images_path, labels_path, LIMIT, LIMIT)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(PipelineError, match=rf"{path}: not a valid gzip file"):
        read_gzip(path, LIMIT)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(np.random.default_rng(0).bytes(5000))[:-100])
    with pytest.raises(PipelineError, match=rf"{path}: gzip stream is truncated"):
        read_gzip(path, LIMIT)


def test_decompression_bomb_is_refused_without_inflating_it():
    bomb = gzip.compress(bytes(50_000_000))  # 50 MB of zeros, about 50 KB compressed
    with pytest.raises(PipelineError, match="decompresses to more than the expected 1,000 bytes; refused"):
        decompress(bomb, 1000, "bomb.gz")


def test_file_larger_than_expected_is_refused_before_reading_it_all(tmp_path):
    path = tmp_path / "big.gz"
    path.write_bytes(bytes(10_000))
    with pytest.raises(PipelineError, match=rf"{path}: larger than the expected 1,100 bytes; refused"):
        read_gzip(path, 1000, max_compressed=1100)


def test_missing_file(tmp_path):
    with pytest.raises(PipelineError, match="cannot read"):
        read_gzip(tmp_path / "absent.gz", LIMIT)
