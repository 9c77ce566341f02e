"""Convolution and max pooling written out in NumPy, as the course's lab does them by hand.

Keras's Conv2D computes a cross-correlation (the kernel is not flipped), so this does too;
tests check both functions against tf.nn.conv2d and tf.nn.max_pool2d.
"""

import numpy as np

# The lab's hand-made 3x3 filters. With row-major images, a filter whose rows differ
# responds where brightness changes from top to bottom (horizontal edges), one whose
# columns differ where it changes from left to right (vertical edges).
COURSE_FILTERS = {
    "vertical edges": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "horizontal edges": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "edges in every direction": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
}


def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'valid' cross-correlation of a 2-D image with a 2-D kernel: (H-f+1) x (W-f+1)."""
    rows, cols = kernel.shape
    height, width = image.shape[0] - rows + 1, image.shape[1] - cols + 1
    output = np.zeros((height, width), dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            output += kernel[i, j] * image[i : i + height, j : j + width]
    return output


def max_pool(image: np.ndarray, size: int = 2) -> np.ndarray:
    """Non-overlapping size x size max pooling; an odd remainder is dropped (13 -> 6)."""
    height, width = image.shape[0] // size, image.shape[1] // size
    blocks = image[: height * size, : width * size].reshape(height, size, width, size)
    return blocks.max(axis=(1, 3))
