"""Training, from a configuration to a saved model: the model builder (`models`), TensorFlow's
set-up of threads, strategy, seeds and determinism (`runtime`), the source's callbacks
(`callbacks`), the training path itself (`fit`), seeds side by side in watched worker processes
(`workers`), and training over several machines (`multi_worker`, with the launcher `cluster`)."""
