"""Keras callbacks of the pipeline: the source's accuracy threshold, and epoch timing."""

import time

import keras


class StopAtAccuracy(keras.callbacks.Callback):
    """Stop training at the end of the first epoch whose training accuracy reaches `threshold`.

    The source's callback; an epoch whose logs have no accuracy is ignored.
    """

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy >= self.threshold:
            self.stopped_epoch = epoch + 1
            print(f"\nTraining accuracy {accuracy:.4f} reached {self.threshold} at epoch {epoch + 1}: stopping.")
            self.model.stop_training = True


class EpochSeconds(keras.callbacks.Callback):
    """Add the epoch's wall-clock seconds to its logs, so CSVLogger records them.

    Put it before CSVLogger in the callback list: callbacks see the same logs in order.
    """

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["seconds"] = round(time.perf_counter() - self.started, 3)
