"""Shared logic of the Fashion-MNIST pipeline: data files, parameters, models, training."""

import os

# Hide TensorFlow's start-up INFO lines; set here because it must precede TensorFlow's import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
