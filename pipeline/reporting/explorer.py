"""The offline explorer: each model's layers and weights as script files a page opened from disk loads.

A page opened from disk (file://) may not fetch() files in Chromium, but it may load scripts,
so every data file is JavaScript that hands its content to the page: `data/index.js` the
models, layers and test images; `data/<group>/<model>.js` a model's weights, each array
little-endian float32 in base64, loaded when the model is picked. The page's own files
(explorer_page/) run every layer type of pipeline/architecture/layers.py in plain JavaScript.

Nothing written carries a time or depends on dictionary order, so a rebuild gives the same bytes.
"""

import base64
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.architecture.layers import describe, layer_output_shape
from pipeline.architecture.shapes import parameter_count, shape_text
from pipeline.configuration.config import INPUT_SHAPE, ModelConfig
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.errors import PipelineError
from pipeline.files.names import named_path

PAGE = Path(__file__).with_name("explorer_page")  # index.html, explorer.js, explorer.css
DATA = "data"
PER_CLASS = 10  # test images per class in the page's grid: the first of each class
MISCLASSIFIED = 20  # each model's first misclassified test images, shown beside them
NOT_ARGUMENTS = ("name", "type", "l1", "l2")  # weight penalties change training, not the forward pass


@dataclass(frozen=True)
class Exported:
    """A trained model to export: its group (`models` or a study), configuration, Keras model and
    predicted class of every test image."""

    group: str
    config: ModelConfig
    model: object  # a keras.Model
    predicted: np.ndarray

    @property
    def key(self) -> str:
        return f"{self.group}/{self.config.name}"


def float32_text(array: np.ndarray) -> str:
    """An array as little-endian float32 bytes in base64, the page's Float32Array."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def layer_entries(exported: Exported, source: Path) -> list[dict]:
    """Each layer's spec, input and output shapes (as in the shape tables) and weights, in order.

    Raises PipelineError where the Keras model's layers are not the ones the configuration declares.
    """
    declared = [layer["name"] for layer in exported.config.layers]
    built = [layer.name for layer in exported.model.layers]
    if declared != built:
        raise PipelineError(f"{source}: layers {built}, but the configuration declares {declared}; run `dvc repro`")
    entries, shape = [], INPUT_SHAPE
    for spec, keras_layer in zip(exported.config.layers, exported.model.layers, strict=True):
        output = layer_output_shape(spec, shape)
        weights = {}
        if spec["type"] in ("conv", "dense"):
            kernel, bias = keras_layer.get_weights()
            weights = {"kernel": float32_text(kernel), "bias": float32_text(bias)}
        entries.append(
            {
                "name": spec["name"],
                "type": spec["type"],
                "keras": type(keras_layer).__name__,
                "arguments": {key: value for key, value in spec.items() if key not in NOT_ARGUMENTS},
                "input": list(shape),
                "output": list(output),
                "shape": shape_text(output),
                "parameters": parameter_count(spec, shape),
                **weights,
            }
        )
        shape = output
    return entries


def shown_images(labels: np.ndarray, models: list[Exported]) -> np.ndarray:
    """Sorted test indices the page shows: the first PER_CLASS of each class and each model's
    first MISCLASSIFIED mistakes."""
    chosen = [np.flatnonzero(labels == label)[:PER_CLASS] for label in range(len(CLASS_NAMES))]
    chosen += [mistakes(labels, exported.predicted) for exported in models]
    return np.unique(np.concatenate(chosen))


def mistakes(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return np.flatnonzero(labels != predicted)[:MISCLASSIFIED]


def pixels_text(images: np.ndarray) -> str:
    """Images in [0, 1] as bytes 0-255 in base64: exact for prepared images (uint8 / 255)."""
    return base64.b64encode(np.rint(images.reshape(len(images), -1) * 255).astype(np.uint8).tobytes()).decode("ascii")


def script(call: str, content: dict) -> str:
    """A script that hands `content` to the page's loader `call`, its JSON in a stable order."""
    return f"{call}({json.dumps(content, ensure_ascii=True, separators=(',', ':'))});\n"


def model_file(exported: Exported) -> str:
    """Where a model's weights go, under data/: <group>/<model>.js."""
    return f"{exported.group}/{named_path(Path(exported.group), exported.config.name, '.js').name}"


def index_entry(exported: Exported, size: int, images: np.ndarray, labels: np.ndarray) -> dict:
    """What the page lists of a model before its weights load."""
    wrong = mistakes(labels, exported.predicted)
    return {
        "key": exported.key,
        "group": exported.group,
        "name": exported.config.name,
        "description": describe(list(exported.config.layers)),
        "parameters": exported.model.count_params(),
        "precision": exported.model.dtype_policy.name,  # the page computes in float32 whatever Keras did
        "file": f"{DATA}/{model_file(exported)}",
        "bytes": size,
        "accuracy": float(np.mean(labels == exported.predicted)),
        "misclassified": [
            {"image": int(np.searchsorted(images, index)), "predicted": int(exported.predicted[index])}
            for index in wrong
        ],
    }


def write_explorer(out_dir: Path, models: list[Exported], images: np.ndarray, labels: np.ndarray) -> int:
    """The explorer into out_dir (replacing what was there): the page, data/index.js and a file per
    model, from the test images and labels. Returns the bytes written."""
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.copytree(PAGE, out_dir, copy_function=shutil.copyfile)
    shown = shown_images(labels, models)
    entries = []
    for exported in models:
        path = out_dir / DATA / model_file(exported)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = script("explorerModelLoaded", {"key": exported.key, "layers": layer_entries(exported, path)})
        path.write_text(text, encoding="ascii")
        entries.append(index_entry(exported, len(text), shown, labels))
    index = {
        "classes": list(CLASS_NAMES),
        "per_class": PER_CLASS,
        "side": INPUT_SHAPE[0],
        "images": {
            "test_index": shown.tolist(),
            "labels": labels[shown].tolist(),
            "pixels": pixels_text(images[shown]),
        },
        "models": entries,
    }
    (out_dir / DATA / "index.js").write_text(script("explorerIndexLoaded", index), encoding="ascii")
    return sum(path.stat().st_size for path in out_dir.rglob("*") if path.is_file())
