"""Train one seed of a model for one epoch, as a `train@` worker process does: for `make bench`
to measure its peak memory against the estimate (pipeline/architecture/memory.py).

Usage: python -m benchmarks.memory_estimate MODEL DATA_DIR

One epoch over every training image, with its validation, reaches the peak of a whole
training: the later epochs hold the same batch, weights and data.
"""

import sys
from dataclasses import replace
from pathlib import Path

from pipeline.configuration.params import load_params, model_config, training_settings
from pipeline.data.arrays import load_split


def main() -> None:
    name, data = sys.argv[1], Path(sys.argv[2])
    params = load_params()
    config, settings = replace(model_config(params, name), epochs=1), training_settings(params)
    train_split, validation_split = load_split(data, "train"), load_split(data, "validation")

    from pipeline.training.fit import train
    from pipeline.training.runtime import configure

    strategy = configure(0, 1, settings.strategy)  # one thread, as each of a stage's side-by-side seeds
    train(config, settings, 0, train_split, validation_split, verbose=0, strategy=strategy)


if __name__ == "__main__":
    main()
