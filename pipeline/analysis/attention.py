"""Where a model looks: Grad-CAM class activation maps, and what each filter responds to.

Grad-CAM (Selvaraju et al., 2017) weights each channel of the last convolution's output by
the mean gradient of a class's score over the channel's positions, sums the channels and
keeps the positive part: the regions whose activation raises that class's score. The score
is the class's logit, the last dense layer before its softmax, so a confident prediction
does not flatten the gradient.
"""

import keras
import numpy as np
import tensorflow as tf


def convolutions(model: keras.Model) -> list:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def grad_cam(model: keras.Model, images: np.ndarray, classes: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """One map per image for its class in `classes`: (images, height, width) at the last
    convolution's resolution, each scaled to a maximum of 1 (all zero where nothing raises the score).

    The layers are called one by one: a Keras 3 model with the convolution's output as a second
    output does not connect that output to the gradient of the first.
    """
    layers = model.layers
    last = max(index for index, layer in enumerate(layers) if isinstance(layer, keras.layers.Conv2D))
    head = layers[-1]
    maps = []
    for start in range(0, len(images), batch_size):
        chosen = tf.constant(classes[start : start + batch_size], dtype=tf.int32)
        with tf.GradientTape() as tape:
            outputs = tf.constant(images[start : start + batch_size])
            for layer in layers[: last + 1]:
                outputs = layer(outputs, training=False)
            activations = outputs
            for layer in layers[last + 1 : -1]:
                outputs = layer(outputs, training=False)
            logits = tf.matmul(outputs, head.kernel) + head.bias
            score = tf.reduce_sum(tf.gather(logits, chosen, axis=1, batch_dims=1))
        gradients = tape.gradient(score, activations)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        maps.append(tf.nn.relu(tf.reduce_sum(weights * activations, axis=-1)).numpy())
    maps = np.concatenate(maps)
    peaks = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peaks, out=np.zeros_like(maps), where=peaks > 0)


def upsampled(maps: np.ndarray, side: int) -> np.ndarray:
    """Maps resized to side x side, bilinearly: smooth, and without a ring of overshoot."""
    resized = tf.image.resize(maps[..., np.newaxis], (side, side), method="bilinear").numpy()[..., 0]
    return np.clip(resized, 0.0, 1.0)


def strongest(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image and channel of `maps` (images, rows, columns, channels): the largest activation
    and its row and column (the first such position, in reading order, on ties)."""
    images, rows, columns, channels = maps.shape
    flat = maps.reshape(images, rows * columns, channels)
    where = flat.argmax(axis=1)
    values = np.take_along_axis(flat, where[:, np.newaxis, :], axis=1)[:, 0, :]
    return values, where // columns, where % columns


def top_activations(
    values: np.ndarray, rows: np.ndarray, columns: np.ndarray, count: int
) -> list[list[tuple[int, int, int, float]]]:
    """Per channel, the `count` images that activate it most, each at its strongest position, as
    (image, row, column, value), strongest first; on ties the lower image index comes first."""
    images = np.arange(len(values))
    return [
        [(int(image), int(rows[image, channel]), int(columns[image, channel]), float(values[image, channel]))
         for image in np.lexsort((images, -values[:, channel]))[:count]]
        for channel in range(values.shape[1])
    ]  # fmt: skip
