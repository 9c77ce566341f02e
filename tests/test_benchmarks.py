"""The benchmarks' own arithmetic, and that `make bench` still imports: it runs outside CI."""

import importlib

import psutil
import pytest

from benchmarks.peak_memory import tree_pss
from benchmarks.run import SECTIONS, earlier_machine, kept_sections
from benchmarks.training import forward_flops
from pipeline.configuration.params import load_params, model_config
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


def test_every_target_of_the_report_has_its_verdict_in_its_section():
    """`make bench ONLY=...` recounts the kept sections' targets from their verdicts."""
    report = (REPO / "reports" / "performance.md").read_text()
    sections = kept_sections(report)
    assert list(sections) == list(SECTIONS)
    for name, lines in sections.items():
        assert lines[0] == SECTIONS[name]
    verdicts = [line for lines in sections.values() for line in lines if "**met**" in line or "**missed**" in line]
    met = sum("**met**" in line for line in verdicts)
    assert f"Targets met: {met} of {len(verdicts)}." in report


def test_a_section_measured_for_the_first_time_may_be_missing_from_the_earlier_report():
    report = "# Performance\n\n- CPU: Old CPU, 2 cores\n\n## Training throughput\n\nfast: **met**\n"
    for heading in list(SECTIONS.values())[1:-1]:
        report += f"\n{heading}\n\nsome figures\n"
    last = list(SECTIONS)[-1]  # the section left out of the report above
    kept = kept_sections(report, measured=[last])
    assert last not in kept and kept["training"][:3] == ["## Training throughput", "", "fast: **met**"]
    with pytest.raises(SystemExit, match=f"lacks {last}"):
        kept_sections(report)
    assert earlier_machine(report) == "Old CPU, 2 cores"
