"""Shared logic of the Fashion-MNIST pipeline: data files, parameters, models, training."""

import os

# Set here because both must precede TensorFlow's import. Hide TensorFlow's start-up INFO
# lines; pin oneDNN on (TensorFlow's default on x86), so that an environment variable left
# over in a shell cannot silently change the kernels and with them the results' last bits.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
# Seeds train side by side, one process each: on a GPU each takes memory as it needs it,
# rather than all of it at start-up, which would leave none for the next.
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

from pipeline.startup import hide_tensorflow_start_up_lines

hide_tensorflow_start_up_lines()
