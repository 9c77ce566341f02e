"""How much memory a training process needs, estimated from the layer arithmetic, and what the machine has.

A training process holds, besides Python, TensorFlow and Keras themselves (RUNTIME_BYTES,
measured), its copy of the prepared training and validation images, the model's weights with
their gradients and the optimizer's state, and a batch's activations: every layer's output
kept for the backward pass, its gradient, and the kernels' scratch space. The estimate is
checked against the measured peak of real trainings by `make bench` (reports/performance.md).
"""

import os
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
RUNTIME_BYTES = 410 * MIB  # one training process before its data and model: measured by `make bench`
FLOAT_BYTES = 4  # float32 images, weights and activations (the fast profile's 16-bit kept as float32 here)
OPTIMIZER_SLOTS = {"adam": 2, "rmsprop": 1, "sgd": 0}  # values the optimizer keeps per weight
ACTIVATION_COPIES = 3  # per output value in a batch: kept for the backward pass, its gradient, scratch space


@dataclass(frozen=True)
class MemoryEstimate:
    """One training process's memory, in bytes, by what holds it."""

    parameters: int
    batch_size: int
    runtime: int
    data: int
    weights: int  # weights, their gradients and the optimizer's state
    activations: int  # one batch's, forward and backward

    @property
    def total(self) -> int:
        return self.runtime + self.data + self.weights + self.activations


def training_memory(
    parameters: int, values_per_image: int, optimizer: str, batch_size: int, images_held: int
) -> MemoryEstimate:
    """The estimate for a model of `parameters` weights whose layers output `values_per_image`
    values for one image (the input included), trained in batches of `batch_size` by a process
    that holds `images_held` 28x28 images."""
    return MemoryEstimate(
        parameters=parameters,
        batch_size=batch_size,
        runtime=RUNTIME_BYTES,
        data=images_held * 28 * 28 * FLOAT_BYTES,
        weights=parameters * FLOAT_BYTES * (2 + OPTIMIZER_SLOTS[optimizer]),
        activations=values_per_image * batch_size * FLOAT_BYTES * ACTIVATION_COPIES,
    )


def cgroup_value(name: str) -> int | None:
    """A number from this process's cgroup (v2) memory controller; None where there is no limit."""
    try:
        text = Path("/sys/fs/cgroup", name).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def machine_memory() -> int:
    """The memory this machine lets the pipeline use: its RAM, or its container's limit if lower."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = cgroup_value("memory.max")
    return min(physical, limit) if limit else physical


def available_memory() -> int:
    """The memory free for new processes now (the kernel's MemAvailable; the container's headroom if lower)."""
    available = machine_memory()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = min(available, int(line.split()[1]) * 1024)
    except OSError:
        pass
    limit, used = cgroup_value("memory.max"), cgroup_value("memory.current")
    if limit and used is not None:
        available = min(available, limit - used)
    return max(available, 0)


def megabytes(size: int) -> str:
    """Bytes as a reader compares them: '1,234 MB' (MiB, as `free -m` and the benchmarks count)."""
    return f"{size / MIB:,.0f} MB"


def describe_memory(estimate: MemoryEstimate) -> str:
    """What the estimate is made of, for the shape tables."""
    return (
        f"TensorFlow {megabytes(estimate.runtime)}, the images {megabytes(estimate.data)}, the weights with their"
        f" gradients and optimizer state {megabytes(estimate.weights)}, the activations of a"
        f" {estimate.batch_size:,}-image batch {megabytes(estimate.activations)}"
    )
