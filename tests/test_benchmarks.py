"""The benchmarks' own arithmetic, and that `make bench` still imports: it runs outside CI."""

import importlib

import psutil
import pytest

from benchmarks.peak_memory import tree_pss
from benchmarks.training import forward_flops
from pipeline.params import load_params, model_config
from tests.conftest import REPO


def test_every_benchmark_module_imports():
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        importlib.import_module(f"benchmarks.{path.stem}")


def test_forward_flops_of_the_dense_baseline_and_a_convolution():
    params = load_params(REPO / "params.yaml")
    assert forward_flops(model_config(params, "dnn")) == 2 * (784 * 128 + 128 * 10)
    one_conv = forward_flops(model_config(params, "cnn_64_1conv"))
    assert one_conv == 2 * (3 * 3 * 1 * 26 * 26 * 64 + 13 * 13 * 64 * 128 + 128 * 10)


def test_peak_memory_counts_this_process():
    assert tree_pss(psutil.Process()) == pytest.approx(psutil.Process().memory_full_info().pss, rel=0.2)
