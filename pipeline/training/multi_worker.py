"""Training over several worker processes (MultiWorkerMirroredStrategy) despite two Keras 3.15 bugs.

Keras 3.15.1 cannot `fit` a model over two or more workers; both bugs are in
keras/src/backend/tensorflow/trainer.py and unchanged on Keras's main branch
(tensorflow/tensorflow#72388, keras-team/keras#20585). `build_model` uses the subclass below
only when it builds under a multi-worker strategy; a trained model is turned back into a plain
`keras.Sequential` before it is saved, so its file loads anywhere.
"""

import keras
import tensorflow as tf


def under_multi_worker_strategy() -> bool:
    """True inside the scope of a MultiWorkerMirroredStrategy."""
    return isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy)


class MultiWorkerSequential(keras.Sequential):
    """keras.Sequential with the two workarounds; the math of a training step is Keras's own."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None) -> None:
        """Bug 1: TensorflowTrainer._maybe_symbolic_build reduces the first distributed batch
        across workers to build the model eagerly, which fails on `PerReplica` values.

        Our models are built already (from keras.Input); the optimizer and the loss are then
        built when the training step is traced, as without a strategy.
        """
        if not self.built:
            super()._maybe_symbolic_build(iterator, data_batch)

    def train_step(self, data) -> dict:
        return rank_one(super().train_step(data))

    def test_step(self, data) -> dict:
        return rank_one(super().test_step(data))


def rank_one(logs: dict) -> dict:
    """Bug 2: reduce_per_replica reduces each log with `axis=0` under a multi-worker strategy,
    which fails on the scalar losses and metrics ("Invalid reduction dimension 0 for input with
    0 dimensions"). Given shape [1], they come out of that reduction as scalars again.
    """
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def as_plain_sequential(model: keras.Model) -> keras.Model:
    """The model as the keras.Sequential it is once trained: same layers, weights and optimizer.

    The workarounds matter only inside `fit`; saved with them, the file would name this
    module's class, which loading (in safe mode, anywhere) could not resolve.
    """
    if isinstance(model, MultiWorkerSequential):
        model.__class__ = keras.Sequential
    return model
