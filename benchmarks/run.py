"""`make bench`: how fast the pipeline trains and rebuilds on this machine, against the plain way.

Prints every figure and writes the speed report (dvc.yaml's `paths.reports.performance`). Outside
the DVC pipeline because its figures depend on the machine. `--full` adds a from-scratch `dvc repro` of the whole
pipeline in a fresh clone, stage by stage with each stage's peak memory (about 20 minutes
more). Run it on the committed state: the rebuild figures use a clone of HEAD.
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import dvc
import keras
import numpy as np
import tensorflow as tf

from benchmarks import rebuild
from benchmarks.explorer import explorer_section
from benchmarks.side_by_side import two_trainings
from benchmarks.sweep import MODEL_KEY, ROUNDS, sweep_rounds
from benchmarks.training import (
    compute_only_rate,
    forward_flops,
    matmul_gflops,
    pipeline_fit,
    plain_fit,
    throughput,
    time_to_accuracy,
)
from pipeline.architecture.memory import MIB
from pipeline.configuration.params import load_params, memory_estimate, model_config, training_settings
from pipeline.data.arrays import load_split, stratified_sample
from pipeline.files.paths import declared_path
from pipeline.training.fit import cpu_has_amx, training_precision
from pipeline.training.runtime import configure
from pipeline.training.workers import cores

MEMORY_MODELS, MEMORY_TOLERANCE = ("dnn", "cnn_64", "cnn_64_2conv_1pool"), 0.3  # the estimate within 30% of the peak
THROUGHPUT_MODELS = {"dnn": 1.5, "cnn_32": 1.25, "cnn_64": None}  # model: target ratio over plain
THROUGHPUT_IMAGES = 20_000
TARGET_ACCURACY, MAX_EPOCHS = 0.90, 12
SIDE_BY_SIDE_MODEL, SIDE_BY_SIDE_LIMIT = "cnn_32", 0.6  # two seeds side by side: at most 0.6x one after another
# A from-scratch rebuild with three seeds: at most twice the single-seed rebuild of 2026-11-30 on the
# machine that measured it (20.5 minutes, `make bench FULL=1` before seeds).
LIMITS = {"no_op_seconds": 2.0, "from_scratch_minutes": 2 * 20.5, "stage_peak_mb": 2500.0, "insight_seconds": 90.0}
INSIGHT_STAGES = ("gradcam", "filters", "templates", "feature_space")
FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")


def verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def machine_lines() -> list[str]:
    model, flags = platform.processor() or platform.machine(), set()
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    present = ", ".join(flag for flag in FLAGS if flag in flags) or "none of " + ", ".join(FLAGS)
    return [
        f"- Date: {datetime.date.today().isoformat()}",
        f"- CPU: {model}, {os.cpu_count()} cores; flags: {present}",
        f"- Software: Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__},"
        f" NumPy {np.__version__}, DVC {dvc.__version__}",
    ]


def training_section(params: dict, data: Path) -> tuple[list[str], list[bool]]:
    settings = training_settings(params)
    fast = replace(settings, profile="fast")
    train, validation, test = (load_split(data, split) for split in ("train", "validation", "test"))
    keep = stratified_sample(train[1], THROUGHPUT_IMAGES, np.random.default_rng(0))
    subset = train[0][keep], train[1][keep]
    paths = {"plain": plain_fit, "pipeline": partial(pipeline_fit, settings)}
    matmul = matmul_gflops(tf.float32)
    lines = [
        "## Training throughput",
        "",
        f"Epochs of {THROUGHPUT_IMAGES:,} training images, batch 32, seed 0; plain = the source's"
        " `model.fit(x, y)` on NumPy arrays with Keras's defaults; pipeline = `pipeline.training.fit.train`"
        " (tf.data, 64 steps per call). Three runs of three epochs per path, alternated A B A B A B; a run's"
        " rate is the median of its second and third epochs (the first compiles); medians over runs.",
        "Test accuracy after the three epochs shows the math did not change.",
        "",
        "| model | plain img/s | pipeline img/s | ratio | target | plain test acc | pipeline test acc |"
        " compute-only img/s | GFLOP/s | of matmul peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for name, target in THROUGHPUT_MODELS.items():
        config = model_config(params, name)
        result = throughput(paths, config, subset, test)
        plain, ours = result["plain"], result["pipeline"]
        ratio = ours["images_per_second"] / plain["images_per_second"]
        compute_only = compute_only_rate(settings, config, subset)
        gflops = 3 * forward_flops(config) * ours["images_per_second"] / 1e9  # backward ~ twice the forward
        if target:
            checks.append(ratio >= target)
        lines.append(
            f"| {name} | {plain['images_per_second']:,.0f} | {ours['images_per_second']:,.0f} | {ratio:.2f}x"
            f" | {f'≥ {target}x ' + verdict(ratio >= target) if target else '—'} | {plain['test_accuracy']:.4f}"
            f" | {ours['test_accuracy']:.4f} | {compute_only:,.0f} | {gflops:.1f} | {gflops / matmul:.0%} |"
        )
        print(lines[-1], flush=True)
    bf16 = matmul_gflops(tf.bfloat16)
    lines += [
        "",
        f"Machine float32 matrix-multiply rate (2048x2048, best of 5): {matmul:.1f} GFLOP/s; bfloat16:"
        f" {bf16:.1f} GFLOP/s ({bf16 / matmul:.2f}x).",
        "GFLOP/s counts 3x the forward pass's multiply-adds (forward plus backward) from the layer shapes.",
        "Compute-only: the same model fed one in-memory batch over and over, so no input pipeline and no",
        "shuffling: what the math alone sustains. Where the pipeline is close to it, training is bound by",
        "the convolutions' arithmetic on this CPU's cores, not by feeding data or Python overhead.",
        "",
    ]

    config = model_config(params, "cnn_32")
    chosen = training_precision(fast)
    fast_float32 = replace(fast, fast_precision="float32")
    candidates = {**paths, "fast": partial(pipeline_fit, fast), "fast, float32": partial(pipeline_fit, fast_float32)}
    reached = time_to_accuracy(candidates, config, train, validation, TARGET_ACCURACY, MAX_EPOCHS)
    lines += [
        "## Time to accuracy",
        "",
        f"`cnn_32` on all {len(train[1]):,} training images until validation accuracy first reaches"
        f" {TARGET_ACCURACY:.1%} (at most {MAX_EPOCHS} epochs; seconds include building the model and validating"
        f" every epoch). Fast profile: batch x{settings.fast_batch_multiplier}, learning rate"
        f" x{settings.fast_batch_multiplier**0.5:g}, {settings.fast_precision} on a GPU or a CPU with AMX, else"
        f" float32 (here: {chosen}, AMX {'present' if cpu_has_amx() else 'absent'}); `fast, float32` is the"
        " same profile with `training.fast.precision: float32`.",
        "",
        "| path | epochs | seconds | vs plain | seconds per epoch |",
        "|---|---|---|---|---|",
    ]
    plain_seconds = reached["plain"][1] if reached["plain"] else None
    for name, result in reached.items():
        if result is None:
            lines.append(f"| {name} | not reached in {MAX_EPOCHS} | — | — | — |")
            continue
        epochs, seconds, per_epoch = result
        share = f"{seconds / plain_seconds:.2f}x" if plain_seconds else "—"
        lines.append(f"| {name} | {epochs} | {seconds:.0f} | {share} | {per_epoch:.1f} |")
        print(lines[-1], flush=True)
    fast_met = bool(reached["fast"] and plain_seconds and reached["fast"][1] <= plain_seconds / 2)
    default_seconds = reached["pipeline"][1] if reached["pipeline"] else None
    never_slower = bool(reached["fast"] and default_seconds and reached["fast"][1] <= default_seconds)
    checks += [fast_met, never_slower]
    lines += [
        "",
        f"Target: the fast profile in at most half the plain path's time: {verdict(fast_met)}.",
        f"Target: the fast profile no slower than the default (`pipeline`) on this machine: {verdict(never_slower)}.",
    ]
    if reached["fast"] and reached["pipeline"]:
        (fast_epochs, _, fast_epoch), (epochs, _, epoch) = reached["fast"], reached["pipeline"]
        lines += [
            f"Where the time goes: a fast-profile epoch takes {fast_epoch / epoch:.2f}x the default's, and it needs"
            f" {fast_epochs} epochs against {epochs}: a {settings.fast_batch_multiplier}x batch takes"
            f" {settings.fast_batch_multiplier}x fewer optimizer steps per epoch. bfloat16 runs at"
            f" {bf16 / matmul:.2f}x float32's matrix-multiply rate on this CPU.",
        ]
    lines.append("")
    return lines, checks


def side_by_side_section(data: Path) -> tuple[list[str], list[bool]]:
    seconds = two_trainings(SIDE_BY_SIDE_MODEL, data)
    ratio = seconds["side by side"] / seconds["one after another"]
    met = ratio <= SIDE_BY_SIDE_LIMIT
    lines = [
        "## Seeds side by side",
        "",
        f"Two trainings of `{SIDE_BY_SIDE_MODEL}` (seeds 0 and 1, its settings in `params.yaml`, all training images),"
        f" each in a fresh process. One after another: one process at a time with {cores()} TensorFlow threads, how"
        " the pipeline trained before seeds. Side by side: a process per core with one thread each, how `train@`"
        " stages run seeds now. Wall seconds for both trainings, start-up included; medians of two runs, alternated.",
        "",
        "| way | seconds for both |",
        "|---|---|",
        *(f"| {way} | {value:.1f} |" for way, value in seconds.items()),
        "",
        f"Side by side takes {ratio:.2f}x the time of one after another. Target at most {SIDE_BY_SIDE_LIMIT}x:"
        f" {verdict(met)}.",
        "",
    ]
    return lines, [met]


def sweep_section() -> tuple[list[str], list[bool]]:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as scratch:
        seconds = sweep_rounds(rebuild.clone(Path(scratch) / "workspace", shared_cache=True))
    ratio = seconds[2] / seconds[1]
    met = ratio <= 1.0
    lines = [
        "## Experiments side by side",
        "",
        f"A sweep of two queued experiments, each changing `{MODEL_KEY}` (so each retrains `cnn_16`'s seeds and"
        " reruns its reports), in a clone with the committed results. One after another: `dvc queue start -j 1`;"
        " side by side: `-j 2`, the two experiments' trainings sharing the machine's training slots"
        " (`pipeline/training/workers.py`). Wall seconds from starting the queue until both succeeded; one round each,"
        f" with filter counts {ROUNDS[1]} and {ROUNDS[2]}, so that neither round reuses the other's runs.",
        "",
        "| way | seconds for both |",
        "|---|---|",
        f"| one after another (`-j 1`) | {seconds[1]:.0f} |",
        f"| side by side (`-j 2`) | {seconds[2]:.0f} |",
        "",
        f"Side by side takes {ratio:.2f}x the time of one after another. Target at most 1.0x: {verdict(met)}.",
        "",
    ]
    print("\n".join(lines[-6:]), flush=True)
    return lines, [met]


def rebuild_section(full: bool) -> tuple[list[str], list[bool]]:
    lines, checks = ["## Rebuild cost", ""], []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        workspace = rebuild.clone(Path(scratch) / "workspace", shared_cache=True)
        no_op = rebuild.no_op_seconds(workspace)
        median = statistics.median(no_op)
        checks.append(median < LIMITS["no_op_seconds"])
        lines += [
            f"- No-op `dvc repro` ({len(rebuild.stages(workspace))} stages, all up to date), five runs: median"
            f" {median:.2f} s, range {min(no_op):.2f} to {max(no_op):.2f} s. Target under"
            f" {LIMITS['no_op_seconds']:g} s: {verdict(median < LIMITS['no_op_seconds'])}.",
        ]
        insight = rebuild.run_stages(list(INSIGHT_STAGES), workspace, force=True)
        insight_total, limit = sum(run.seconds for run in insight), LIMITS["insight_seconds"]
        checks.append(insight_total <= limit)
        each = ", ".join(f"`{run.stage}` {run.seconds:.0f} s" for run in insight)
        lines += [
            f"- The four stages that explain the models ({each}, each a `dvc repro --force` of that stage alone, DVC's"
            f" start-up included) add {insight_total:.0f} s to a rebuild. Target at most {limit:g} s:"
            f" {verdict(insight_total <= limit)}.",
        ]
        ran, seconds, peak = rebuild.edit_one_model(workspace, "cnn_16", filters=12)
        lines += [
            f"- After changing `models.cnn_16.layers.conv_1.filters` (16 to 12), `dvc repro` ran {len(ran)} stages in"
            f" {seconds:.0f} s (peak {peak:,.0f} MB): {', '.join(f'`{name}`' for name in ran)}.",
        ]
        print("\n".join(lines[-3:]), flush=True)
        if not full:
            within = peak <= LIMITS["stage_peak_mb"]
            lines += [
                f"- Peak memory of that rebuild against the target of at most {LIMITS['stage_peak_mb']:,.0f} MB per"
                f" stage: {verdict(within)}.",
                "- From-scratch `dvc repro`: not measured in this run (`make bench FULL=1`).",
                "",
            ]
            checks.append(within)
            return lines, checks
        fresh = rebuild.clone(Path(scratch) / "fresh", shared_cache=False)
        runs = rebuild.run_stages(rebuild.stages(fresh), fresh)
    total = sum(run.seconds for run in runs) / 60
    heaviest = max(runs, key=lambda run: run.peak_mb)
    checks += [total < LIMITS["from_scratch_minutes"], heaviest.peak_mb <= LIMITS["stage_peak_mb"]]
    lines += [
        f"- From-scratch `dvc repro` of all {len(runs)} stages in a fresh clone with an empty cache: {total:.1f}"
        f" minutes (one `dvc repro <stage>` per stage, so it includes a DVC start-up per stage). Target under"
        f" {LIMITS['from_scratch_minutes']:g} minutes: {verdict(total < LIMITS['from_scratch_minutes'])}.",
        f"- Peak memory: {heaviest.peak_mb:,.0f} MB (`{heaviest.stage}`); target at most"
        f" {LIMITS['stage_peak_mb']:,.0f} MB per stage: {verdict(heaviest.peak_mb <= LIMITS['stage_peak_mb'])}.",
        "",
        "| stage | seconds | peak MB |",
        "|---|---|---|",
        *(f"| `{run.stage}` | {run.seconds:.1f} | {run.peak_mb:,.0f} |" for run in runs),
        "",
    ]
    return lines, checks


def memory_section(params: dict, data: Path) -> tuple[list[str], list[bool]]:
    lines = [
        "## Memory estimate",
        "",
        "Each model's training memory as the train stage estimates it before it starts"
        " (`pipeline/architecture/memory.py`, shown under each shape table), against the peak measured"
        " while one seed of it trains for an epoch on every training image in a process of its own, as a"
        " `train@` worker does (proportional set size, sampled twice a second).",
        " Target: the estimate within 30% of the peak.",
        "",
        "| model | estimate MB | measured peak MB | estimate / peak | within 30% |",
        "|---|---|---|---|---|",
    ]
    checks = []
    for name in MEMORY_MODELS:
        estimate = memory_estimate(params, model_config(params, name)).total / MIB
        _, peak, _ = rebuild.command([sys.executable, "-m", "benchmarks.memory_estimate", name, str(data)], Path.cwd())
        ratio = estimate / peak
        checks.append(abs(ratio - 1) <= MEMORY_TOLERANCE)
        lines.append(f"| `{name}` | {estimate:,.0f} | {peak:,.0f} | {ratio:.2f} | {verdict(checks[-1])} |")
        print(lines[-1], flush=True)
    return [*lines, ""], checks


SECTIONS = {  # name: the heading its part of the report starts with, in the report's order
    "training": "## Training throughput",
    "side_by_side": "## Seeds side by side",
    "sweep": "## Experiments side by side",
    "rebuild": "## Rebuild cost",
    "memory": "## Memory estimate",
    "explorer": "## The explorer in the browser",
}


def kept_sections(report: str, measured: Sequence[str] = ()) -> dict[str, list[str]]:
    """The parts of an earlier report, by section name, for the sections not measured again."""
    starts = {name: report.find(f"\n{heading}\n") for name, heading in SECTIONS.items()}
    missing = [name for name, start in starts.items() if start == -1 and name not in measured]
    if missing:
        raise SystemExit(f"the earlier report lacks {', '.join(missing)}: measure it too (--only ... {missing[0]})")
    found = sorted(start for start in starts.values() if start != -1)
    bounds = [*found, len(report)]
    return {
        name: report[start + 1 : bounds[bounds.index(start) + 1]].split("\n")
        for name, start in starts.items()
        if start != -1
    }


def earlier_machine(report: str) -> str:
    """The CPU line of an earlier report: the machine its kept sections were measured on."""
    return next((line.removeprefix("- CPU: ") for line in report.splitlines() if line.startswith("- CPU: ")), "unknown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also rebuild everything from scratch (~20 min)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="measure these sections again, keep the rest")
    parser.add_argument("--data", type=Path, default=declared_path("prepared"))
    parser.add_argument("--out", type=Path, default=declared_path("reports.performance"))
    args = parser.parse_args()
    params = load_params()
    configure(0, 0)  # a thread per core: one training at a time uses the whole machine, as the plain path does
    header = ["# Performance", "", "Written by `make bench` (`python -m benchmarks.run`).", "", *machine_lines(), ""]
    print("\n".join(header), flush=True)
    measure = {
        "training": lambda: training_section(params, args.data),
        "side_by_side": lambda: side_by_side_section(args.data),
        "sweep": sweep_section,
        "rebuild": lambda: rebuild_section(args.full),
        "memory": lambda: memory_section(params, args.data),
        "explorer": explorer_section,
    }
    earlier = args.out.read_text() if args.only else ""
    kept = kept_sections(earlier, args.only) if args.only else {}
    body, checks = [], []
    for name, section in measure.items():
        if args.only and name not in args.only:
            lines = kept[name]  # measured earlier: its verdicts count as they were
            verdicts = [line for line in lines if "**met**" in line or "**missed**" in line]
            checks += ["**met**" in line for line in verdicts]
        else:
            lines, section_checks = section()
            checks += section_checks
        body += lines
    summary = [f"Targets met: {sum(checks)} of {len(checks)}.", ""]
    if args.only:
        again = ", ".join(args.only)
        summary += [
            f"Measured again in this run: {again}; the other sections are from the run before, on"
            f" {earlier_machine(earlier)}.",
            "",
        ]
    args.out.write_text("\n".join(header + summary + body))
    print("\n".join(summary) + f"Written to {args.out}")


if __name__ == "__main__":
    main()
