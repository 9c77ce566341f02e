"""Keras callbacks: the source's stop at a training-accuracy threshold, and a labelled epoch log."""

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


class EpochLog(keras.callbacks.Callback):
    """One line per epoch, labelled with the run (`cnn_32 seed 1`), flushed at once.

    Several trainings print side by side into one log; Keras's own lines do not say whose they are.
    """

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        figures = ", ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items())
        print(f"{self.label}: epoch {epoch + 1}/{self.params['epochs']}: {figures}", flush=True)
