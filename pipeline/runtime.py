"""TensorFlow set-up shared by the stages that run models: threads, seeds, determinism.

With the same machine, software, seed and thread count, training gives the same weights.
A GPU, when TensorFlow sees one, is used as it is.
"""

import os

import keras
import tensorflow as tf


def pin_threads(threads: int) -> None:
    """Fix TensorFlow's thread pools (0 = one thread per CPU core); call before any TF op."""
    tf.config.threading.set_intra_op_parallelism_threads(threads or os.cpu_count() or 1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def configure(seed: int, threads: int) -> None:
    pin_threads(threads)
    seed_everything(seed)
