"""The tests; `make test` runs them."""

import pipeline  # noqa: F401 (TensorFlow's environment and quiet start-up, before a test imports it)
