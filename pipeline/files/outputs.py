"""The files inside the stages' output folders, named once.

The stage that writes a file and the stage that reads or links it take its name from here;
the folders themselves are paths in dvc.yaml (`vars: paths`), handed to both.
"""

# figures/<model>/
ACTIVATIONS = "activations.png"
FIRST_CONV_CHANNELS = "first_conv_channels.png"
FIRST_CONV_KERNELS = "first_conv_kernels.png"
CONFUSION = "confusion.png"
MISCLASSIFIED = "misclassified.png"
# insight: gradcam/ (and a folder per CNN), filters/, templates/, feature_space/
SUMMARY_TABLE = "summary.csv"
CAM_ACTIVATION_IMAGES = "activation_images.png"
CAM_CONFUSED = "confused.png"
CAM_CLASS_AVERAGE = "class_average.png"
TEMPLATES = "templates.png"
TEMPLATES_SUMMARY = "summary.json"
PROJECTION = "projection.png"
SEPARABILITY = "separability.csv"
# the overfitting study's figures/
OVERLAY = "overlay.png"


def filter_grid_file(model: str, layer: str) -> str:
    """The filters stage's grid of one convolution (names checked by params.py)."""
    return f"{model}_{layer}.png"
