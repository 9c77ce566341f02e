"""TensorFlow set-up shared by the stages that run models: seeds, threads, determinism."""

import os

import keras
import tensorflow as tf


def configure(seed: int, threads: int) -> None:
    """Seed Python, NumPy and TensorFlow, make ops deterministic and pin the thread pools.

    With the same machine, software, seed and thread count, training gives the same weights.
    `threads` 0 means one thread per CPU core. A GPU, when TensorFlow sees one, is used as is.
    """
    tf.config.threading.set_intra_op_parallelism_threads(threads or os.cpu_count() or 1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
