"""The prepare stage: scaling, shapes, stratified seeded splits, and the data summary."""

import json

import numpy as np
import pytest

from pipeline.configuration.config import DataConfig, DataSettings, write_config
from pipeline.data.arrays import stratified_sample
from stages.prepare import scale, split
from tests.conftest import run_module, write_gz, write_raw_dir


def labels_of(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts).astype(np.uint8)


def test_stratified_sample_keeps_class_shares_and_exact_size():
    labels = labels_of([600, 300, 100])
    chosen = stratified_sample(labels, 100, np.random.default_rng(0))
    assert len(chosen) == 100 and len(set(chosen)) == 100
    assert np.bincount(labels[chosen]).tolist() == [60, 30, 10]


def test_stratified_sample_rounds_to_the_requested_size():
    labels = labels_of([7, 7, 7])
    chosen = stratified_sample(labels, 10, np.random.default_rng(0))
    assert len(chosen) == 10 and sorted(np.bincount(labels[chosen]).tolist()) == [3, 3, 4]


def test_split_is_seeded_disjoint_and_complete():
    ids = np.arange(1000).reshape(1000, 1, 1)  # each "image" is its own index
    labels = (np.arange(1000) % 10).astype(np.uint8)
    settings = DataSettings(validation_fraction=0.2, subset=None)
    first, again, other = (split(ids, labels, settings, seed) for seed in (0, 0, 1))
    train_ids, validation_ids = first["train"][0].ravel(), first["validation"][0].ravel()
    assert (len(train_ids), len(validation_ids)) == (800, 200)
    assert np.bincount(first["validation"][1]).tolist() == [20] * 10
    assert sorted(np.concatenate([train_ids, validation_ids]).tolist()) == list(range(1000))
    np.testing.assert_array_equal(first["validation"][0], again["validation"][0])
    assert not np.array_equal(first["validation"][0], other["validation"][0])


def test_subset_is_taken_before_the_validation_split():
    labels = (np.arange(1000) % 10).astype(np.uint8)
    images = np.zeros((1000, 28, 28), np.uint8)
    parts = split(images, labels, DataSettings(validation_fraction=0.1, subset=300), seed=0)
    assert (len(parts["train"][1]), len(parts["validation"][1])) == (270, 30)
    assert np.bincount(parts["train"][1]).tolist() == [27] * 10


def test_zero_validation_trains_on_everything():
    labels = (np.arange(100) % 10).astype(np.uint8)
    parts = split(np.zeros((100, 28, 28), np.uint8), labels, DataSettings(0.0, None), seed=0)
    assert len(parts["train"][1]) == 100 and len(parts["validation"][1]) == 0


def test_scale_gives_float32_in_unit_range_with_a_channel_axis():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    scaled = scale(images)
    assert scaled.dtype == np.float32 and scaled.shape == (1, 2, 2, 1)
    np.testing.assert_allclose(scaled[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]])


def prepare_in(workdir, **data):
    """The stage with these `data` settings, written as check_params writes them (unchecked: the
    stage's own checks are under test)."""
    settings = {"validation_fraction": 0.1, "subset": None, **data}
    write_config(DataConfig(seed=0, data=DataSettings(**settings)), workdir / "data.json")
    return run_module(
        "stages.prepare", "--raw", "data/raw", "--data-config", "data.json", "--out", "data/prepared",
        "--summary", "reports/data.json", cwd=workdir,
    )  # fmt: skip


def test_stage_writes_arrays_and_summary(workdir):
    write_raw_dir(workdir / "data" / "raw", train_count=200, test_count=50)
    result = prepare_in(workdir, validation_fraction=0.1, subset=None)
    assert result.returncode == 0, result.stderr
    prepared = workdir / "data" / "prepared"
    x_train, y_test = np.load(prepared / "x_train.npy"), np.load(prepared / "y_test.npy")
    assert x_train.shape == (180, 28, 28, 1) and x_train.dtype == np.float32
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert y_test.dtype == np.uint8 and len(y_test) == 50
    summary = json.loads((workdir / "reports" / "data.json").read_text())
    assert summary["validation"]["images"] == 20 and summary["validation"]["per_class"]["Ankle boot"] == 2
    assert summary["test"]["per_class"]["T-shirt/top"] == 5
    assert summary["train"]["pixel_mean"] == pytest.approx(0.5, abs=0.01)  # uniform random pixels


def test_stage_is_deterministic(workdir):
    write_raw_dir(workdir / "data" / "raw")
    prepare_in(workdir)
    first = {path.name: path.read_bytes() for path in (workdir / "data" / "prepared").iterdir()}
    prepare_in(workdir)
    second = {path.name: path.read_bytes() for path in (workdir / "data" / "prepared").iterdir()}
    assert first == second and len(first) == 6


def test_stage_rejects_a_subset_larger_than_the_training_set(workdir):
    write_raw_dir(workdir / "data" / "raw", train_count=200)
    result = prepare_in(workdir, subset=500)
    assert result.returncode == 1
    assert "error: params.yaml: data.subset: 500 is more than the 200 training images" in result.stderr
    assert not (workdir / "data" / "prepared").exists()


def test_stage_rejects_a_split_that_leaves_no_training_images(workdir):
    write_raw_dir(workdir / "data" / "raw", train_count=200)
    result = prepare_in(workdir, subset=100, validation_fraction=0.995)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: params.yaml: data.subset (100) and data.validation_fraction (0.995) leave 0 training images;"
        " at least 10, one per class, are needed"
    )
    assert not (workdir / "data" / "prepared").exists()


def test_stage_rejects_images_of_the_wrong_size(workdir):
    raw = write_raw_dir(workdir / "data" / "raw")
    from pipeline.data.idx import IMAGES_MAGIC
    from tests.conftest import idx_bytes

    write_gz(raw / "t10k-images-idx3-ubyte.gz", idx_bytes(np.zeros((50, 14, 56), np.uint8), IMAGES_MAGIC))
    result = prepare_in(workdir)
    assert result.returncode == 1 and "images of (14, 56), expected 28x28" in result.stderr
    assert "Traceback" not in result.stderr
