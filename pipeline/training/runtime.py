"""TensorFlow set-up shared by the stages that run models: threads, strategy, seeds, determinism.

With the same machine, software, seed and thread count, training gives the same weights.
A GPU, when TensorFlow sees one, is used as it is.
"""

import os

import keras
import tensorflow as tf

from pipeline.errors import PipelineError


def pin_threads(threads: int) -> None:
    """Fix TensorFlow's thread pools (0 = one thread per CPU core); call before any TF op."""
    tf.config.threading.set_intra_op_parallelism_threads(threads or os.cpu_count() or 1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def distribution_strategy(name: str) -> tf.distribute.Strategy:
    """The strategy named by `training.strategy` in params.yaml.

    `auto` mirrors over the local GPUs when there are several; `mirrored` over the local GPUs,
    or over the logical CPUs when there is no GPU; `multi_worker` over the cluster in TF_CONFIG.
    """
    if name == "multi_worker":  # before anything else asks about devices, which starts TensorFlow
        if "TF_CONFIG" not in os.environ:
            raise PipelineError("params.yaml: training.strategy: multi_worker needs the cluster in $TF_CONFIG")
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    return tf.distribute.get_strategy()


def configure(seed: int, threads: int, strategy: str = "none") -> tf.distribute.Strategy:
    """Threads, then the distribution strategy, then seeds: the order TensorFlow needs.

    A multi-worker strategy must exist before anything starts TensorFlow's runtime.
    """
    pin_threads(threads)
    chosen = distribution_strategy(strategy)
    seed_everything(seed)
    return chosen
