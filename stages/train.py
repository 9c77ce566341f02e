"""Stage `train@<model>`: fit one model declared in params.yaml, save it and its history.

The model goes to <models-dir>/<model>.keras (Keras's native format), the per-epoch loss,
accuracy, validation loss and accuracy to <history-dir>/<model>.csv (no wall-clock times:
the history feeds other stages and is kept in git, so a rebuild must give the same bytes).
Both are written under temporary names and moved into place when training has finished;
a loss that turns NaN stops training with an error and saves nothing.
`--study overfitting` trains a model of that study instead (see `overfitting` in params.yaml).
"""

import math
import os
import sys

from pipeline.arrays import load_split
from pipeline.cli import directory, model_parser
from pipeline.errors import PipelineError, run
from pipeline.names import named_path, remove_old
from pipeline.params import load_params, model_config, seed, threads, training_settings


def main() -> None:
    parser = model_parser(__doc__)
    directory(parser, "--data", "the prepared arrays")
    directory(parser, "--models-dir", "where <model>.keras goes")
    directory(parser, "--history-dir", "where <model>.csv, the training history, goes")
    args = parser.parse_args()
    name = args.model
    params = load_params()
    config = model_config(params, name, args.study)
    settings, training_seed = training_settings(params), seed(params)
    model_path = named_path(args.models_dir, name, ".keras")
    history_path = named_path(args.history_dir, name, ".csv")
    remove_old(model_path, history_path)
    train_split, validation_split = load_split(args.data, "train"), load_split(args.data, "validation")

    import keras

    from pipeline.callbacks import StopAtAccuracy
    from pipeline.runtime import configure
    from pipeline.training import save_model, train

    strategy = configure(training_seed, threads(params), settings.strategy)
    history_path.parent.mkdir(parents=True, exist_ok=True)
    partial_history = history_path.with_name(history_path.name + ".partial")
    callbacks = [keras.callbacks.TerminateOnNaN(), keras.callbacks.CSVLogger(str(partial_history))]
    if config.stop_at_accuracy is not None:
        callbacks.append(StopAtAccuracy(config.stop_at_accuracy))
    verbose = 1 if sys.stdout.isatty() else 2  # a progress bar, or one line per epoch in logs
    try:
        model, history = train(
            config, settings, training_seed, train_split, validation_split, callbacks, verbose, strategy
        )
        if not all(map(math.isfinite, history.history["loss"])):
            raise PipelineError(
                f"{name}: the training loss became NaN or infinite; lower the learning rate"
                f" ({config.learning_rate:g}) or check the data. No model was saved."
            )
    except PipelineError:
        partial_history.unlink(missing_ok=True)
        raise
    save_model(model, model_path)
    os.replace(partial_history, history_path)


if __name__ == "__main__":
    run(main)
