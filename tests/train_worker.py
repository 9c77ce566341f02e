"""Train a small model with a distribution strategy and print what it reached, as JSON.

Run as its own process by tests/test_training.py: logical devices and TF_CONFIG must be
set before TensorFlow starts. Usage: python -m tests.train_worker STRATEGY LOGICAL_CPUS
"""

import json
import sys

import tensorflow as tf

from pipeline.params import TrainingSettings
from tests.conftest import config_of

LAYERS = {
    "conv_1": {"type": "conv", "filters": 8, "kernel": 3},
    "pool_1": {"type": "maxpool", "pool": 2},
    "flatten": {"type": "flatten"},
    "dense_1": {"type": "dense", "units": 10, "activation": "softmax"},
}


def main() -> None:
    strategy, logical_cpus = sys.argv[1], int(sys.argv[2])
    if logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    from pipeline.runtime import configure
    from pipeline.training import train
    from tests.test_models import tiny_dataset  # pins 2 threads at import; configure() then sets 1

    chosen = configure(0, 1, strategy)
    config = config_of(LAYERS, learning_rate=0.003, batch_size=16, epochs=4)
    settings = TrainingSettings(64, "default", strategy, 4, "mixed_bfloat16")
    model, history = train(config, settings, 0, tiny_dataset(512, 0), tiny_dataset(256, 1), verbose=0, strategy=chosen)
    print(json.dumps({"replicas": model.distribute_strategy.num_replicas_in_sync,
                      "val_accuracy": history.history["val_accuracy"][-1]}))  # fmt: skip


if __name__ == "__main__":
    main()
