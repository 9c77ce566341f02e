"""`make bench`'s measurements (see benchmarks/run.py)."""

import pipeline  # noqa: F401 (TensorFlow's environment and quiet start-up, before a benchmark imports it)
