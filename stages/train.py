"""Stage `train@<model>`: fit one model declared in params.yaml, save it and its history.

The model goes to data/models/<model>.keras (Keras's native format), the per-epoch
loss, accuracy, validation loss and accuracy and seconds to reports/history/<model>.csv.
Both are written under temporary names and moved into place when training has finished.
`--study overfitting` trains a model of that study instead (see `overfitting` in params.yaml).
"""

import argparse
import os
import sys
from pathlib import Path

from pipeline.arrays import load_split
from pipeline.errors import run
from pipeline.params import STUDIES, load_params, model_config, seed, threads, training_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model name under `models` (or `<study>.models`) in params.yaml")
    parser.add_argument("--study", choices=STUDIES, help="the study the model belongs to")
    parser.add_argument("--data", type=Path, default=Path("data/prepared"))
    parser.add_argument("--model-out", type=Path, help="default: data/models/<model>.keras")
    parser.add_argument("--history-out", type=Path, help="default: reports/history/<model>.csv")
    args = parser.parse_args()
    params = load_params()
    config = model_config(params, args.model, args.study)
    settings, training_seed = training_settings(params), seed(params)
    model_path = args.model_out or Path("data/models") / f"{args.model}.keras"
    history_path = args.history_out or Path("reports/history") / f"{args.model}.csv"
    train_split, validation_split = load_split(args.data, "train"), load_split(args.data, "validation")

    import keras

    from pipeline.callbacks import EpochSeconds, StopAtAccuracy
    from pipeline.runtime import configure
    from pipeline.training import save_model, train

    strategy = configure(training_seed, threads(params), settings.strategy)
    history_path.parent.mkdir(parents=True, exist_ok=True)
    partial_history = history_path.with_name(history_path.name + ".partial")
    callbacks = [EpochSeconds(), keras.callbacks.CSVLogger(str(partial_history))]
    if config.stop_at_accuracy is not None:
        callbacks.append(StopAtAccuracy(config.stop_at_accuracy))
    verbose = 1 if sys.stdout.isatty() else 2  # a progress bar, or one line per epoch in logs
    model, _ = train(config, settings, training_seed, train_split, validation_split, callbacks, verbose, strategy)
    save_model(model, model_path)
    os.replace(partial_history, history_path)


if __name__ == "__main__":
    run(main)
