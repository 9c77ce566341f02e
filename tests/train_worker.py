"""Train a small model with a distribution strategy and report what it reached.

Run as its own process by tests/test_training.py: logical devices and TF_CONFIG must be
set before TensorFlow starts. Usage:

    python -m tests.train_worker STRATEGY LOGICAL_CPUS          prints replicas and accuracy as JSON
    python -m tests.train_worker STRATEGY LOGICAL_CPUS OUT_DIR  global batch 32 whatever the replicas;
        writes OUT_DIR/<worker>.npz (weights, per-epoch losses and accuracies, validation included)
        and OUT_DIR/<worker>.keras, <worker> being the TF_CONFIG task index, or "single"
"""

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from pipeline.configuration.params import TrainingSettings
from tests.conftest import config_of

LAYERS = {
    "conv_1": {"type": "conv", "filters": 8, "kernel": 3},
    "pool_1": {"type": "maxpool", "pool": 2},
    "flatten": {"type": "flatten"},
    "dense_1": {"type": "dense", "units": 10, "activation": "softmax"},
}
GLOBAL_BATCH, LEARNING_RATE = 32, 0.003


def main() -> None:
    strategy, logical_cpus = sys.argv[1], int(sys.argv[2])
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    if logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    from pipeline.training.fit import save_model, train
    from pipeline.training.runtime import configure
    from tests.test_models import tiny_dataset  # pins 2 threads at import; configure() then sets 1

    chosen = configure(0, 1, strategy)
    replicas = chosen.num_replicas_in_sync
    if out is None:
        config = config_of(LAYERS, learning_rate=LEARNING_RATE, batch_size=16, epochs=4)
    else:  # per replica, so that the plan's scaling gives every run the same global batch and rate
        config = config_of(LAYERS, learning_rate=LEARNING_RATE / math.sqrt(replicas),
                           batch_size=GLOBAL_BATCH // replicas, epochs=3)  # fmt: skip
    settings = TrainingSettings(64, "default", strategy, 4, "mixed_bfloat16")
    model, history, _ = train(config, settings, 0, tiny_dataset(512, 0), tiny_dataset(256, 1), verbose=0,
                              strategy=chosen)  # fmt: skip
    if out is None:
        print(json.dumps({"replicas": model.distribute_strategy.num_replicas_in_sync,
                          "val_accuracy": history.history["val_accuracy"][-1]}))  # fmt: skip
        return
    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"] if "TF_CONFIG" in os.environ else "single"
    logs = {name: np.array(values) for name, values in history.history.items()}
    weights = {f"weight_{index}": weight for index, weight in enumerate(model.get_weights())}
    np.savez(out / f"{task}.npz", replicas=replicas, **logs, **weights)
    save_model(model, out / f"{task}.keras")


if __name__ == "__main__":
    main()
