"""The source's Keras callback: stop at a training-accuracy threshold."""

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
