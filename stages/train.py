"""Stage `train@<model>`: fit one model declared in params.yaml, save it and its history.

The model goes to data/models/<model>.keras (Keras's native format), the per-epoch
loss, accuracy, validation loss and accuracy and seconds to reports/history/<model>.csv.
Both are written under temporary names and moved into place when training has finished.
"""

import argparse
import os
import sys
from pathlib import Path

from pipeline.arrays import load_split
from pipeline.errors import run
from pipeline.params import ModelConfig, load_params, model_config, seed, threads


def fit(config: ModelConfig, data_dir: Path, model_path: Path, history_path: Path) -> None:
    """Train on the training split, validating on the held-out split when there is one."""
    import keras

    from pipeline.callbacks import EpochSeconds, StopAtAccuracy
    from pipeline.models import build_model

    x_train, y_train = load_split(data_dir, "train")
    x_val, y_val = load_split(data_dir, "validation")
    model = build_model(config)
    model.summary()

    for path in (model_path, history_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    partial_history = history_path.with_name(history_path.name + ".partial")
    callbacks = [EpochSeconds(), keras.callbacks.CSVLogger(str(partial_history))]
    if config.stop_at_accuracy is not None:
        callbacks.append(StopAtAccuracy(config.stop_at_accuracy))
    model.fit(
        x_train,
        y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(x_val, y_val) if len(x_val) else None,
        callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,  # a progress bar, or one line per epoch in logs
    )
    partial_model = model_path.with_name(".partial." + model_path.name)
    model.save(partial_model)
    os.replace(partial_model, model_path)
    os.replace(partial_history, history_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model name under `models` in params.yaml")
    parser.add_argument("--data", type=Path, default=Path("data/prepared"))
    parser.add_argument("--model-out", type=Path, help="default: data/models/<model>.keras")
    parser.add_argument("--history-out", type=Path, help="default: reports/history/<model>.csv")
    args = parser.parse_args()
    params = load_params()
    config = model_config(params, args.model)

    from pipeline.runtime import configure

    configure(seed(params), threads(params))
    fit(
        config,
        args.data,
        args.model_out or Path("data/models") / f"{args.model}.keras",
        args.history_out or Path("reports/history") / f"{args.model}.csv",
    )


if __name__ == "__main__":
    run(main)
