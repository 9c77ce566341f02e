"""Reading params.yaml and checking every value a stage uses before any work starts.

Each check failure is a PipelineError naming the key, e.g.
`params.yaml: models.cnn_16.layers[0].kernel: 30 is larger than its 28x28 input`.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.errors import PipelineError
from pipeline.fashion_mnist import CLASS_NAMES, IMAGE_SIDE, TEST_COUNT
from pipeline.shapes import layer_output_shape

PARAMS_FILE = Path("params.yaml")
INPUT_SHAPE = (IMAGE_SIDE, IMAGE_SIDE, 1)
REQUIRED = object()
# Every layer type a model may use: argument -> (type, default or REQUIRED).
LAYER_ARGS: dict[str, dict[str, tuple[type, object]]] = {
    "conv": {
        "filters": (int, REQUIRED),
        "kernel": (int, 3),
        "strides": (int, 1),
        "padding": (str, "valid"),
        "activation": (str, "relu"),
        "l1": (float, 0.0),
        "l2": (float, 0.0),
    },
    "maxpool": {"pool": (int, 2), "strides": (int, None), "padding": (str, "valid")},
    "flatten": {},
    "dense": {
        "units": (int, REQUIRED),
        "activation": (str, "linear"),
        "l1": (float, 0.0),
        "l2": (float, 0.0),
    },
    "dropout": {"rate": (float, REQUIRED)},
}
ACTIVATIONS = ("relu", "softmax", "sigmoid", "tanh", "linear", "elu", "selu", "gelu", "swish")
PADDINGS = ("valid", "same")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
TRAINING_KEYS = ("optimizer", "learning_rate", "batch_size", "epochs", "stop_at_accuracy", "head")
TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping"}


@dataclass(frozen=True)
class DataSettings:
    validation_fraction: float
    subset: int | None


@dataclass(frozen=True)
class ReportSettings:
    activation_images: tuple[int, ...]
    activation_channel: int
    misclassified_shown: int
    explained_images: tuple[int, ...]


@dataclass(frozen=True)
class ModelConfig:
    """A model's full declaration: its layers then the head, and its training settings."""

    name: str
    layers: tuple[dict, ...]
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    stop_at_accuracy: float | None


def fail(key: str, message: str) -> PipelineError:
    return PipelineError(f"{PARAMS_FILE}: {key}: {message}")


def typed(value: object, kind: type, key: str) -> object:
    """Return value as `kind`, accepting an integer where a number is expected."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise fail(key, f"expected {TYPE_NAMES[kind]}, got {value!r}")
    return value


def positive(value: object, key: str, kind: type = int) -> int | float:
    value = typed(value, kind, key)
    if value <= 0:
        raise fail(key, f"must be positive, got {value}")
    return value


def section(params: dict, key: str) -> dict:
    if key not in params:
        raise fail(key, "missing")
    return typed(params[key], dict, key)


def load_params(path: Path = PARAMS_FILE) -> dict:
    """Parse params.yaml with yaml.safe_load (no arbitrary objects)."""
    try:
        params = yaml.safe_load(path.read_text())
    except OSError as error:
        raise PipelineError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or error
        raise PipelineError(f"{path}: not valid YAML{where} ({reason})") from None
    if not isinstance(params, dict):
        raise PipelineError(f"{path}: expected a mapping of parameters at the top level")
    return params


def seed(params: dict) -> int:
    value = typed(params.get("seed"), int, "seed")
    if value < 0:
        raise fail("seed", f"must be zero or positive, got {value}")
    return value


def threads(params: dict) -> int:
    value = typed(params.get("threads", 0), int, "threads")
    if value < 0:
        raise fail("threads", f"must be zero (one per core) or positive, got {value}")
    return value


def data_settings(params: dict) -> DataSettings:
    data = section(params, "data")
    unknown = sorted(set(data) - {"validation_fraction", "subset"})
    if unknown:
        raise fail(f"data.{unknown[0]}", "unknown key (expected validation_fraction, subset)")
    fraction = typed(data.get("validation_fraction", 0.0), float, "data.validation_fraction")
    if not 0 <= fraction < 1:
        raise fail("data.validation_fraction", f"must be in [0, 1), got {fraction}")
    subset = data.get("subset")
    if subset is not None:
        subset = positive(subset, "data.subset")
        if subset < 10 * len(CLASS_NAMES):
            raise fail("data.subset", f"must be at least {10 * len(CLASS_NAMES)} images, got {subset}")
    return DataSettings(fraction, subset)


def image_indices(values: object, key: str) -> tuple[int, ...]:
    values = typed(values, list, key)
    if not values:
        raise fail(key, "needs at least one test image index")
    indices = tuple(typed(value, int, f"{key}[{index}]") for index, value in enumerate(values))
    for index, value in enumerate(indices):
        if not 0 <= value < TEST_COUNT:
            raise fail(f"{key}[{index}]", f"{value} is not a test image index (0 to {TEST_COUNT - 1})")
    return indices


def report_settings(params: dict) -> ReportSettings:
    report = section(params, "report")
    expected = {"activation_images", "activation_channel", "misclassified_shown", "explained_images"}
    for key in sorted(set(report) ^ expected):
        raise fail(f"report.{key}", "unknown key" if key in report else "missing")
    channel = typed(report["activation_channel"], int, "report.activation_channel")
    if channel < 0:
        raise fail("report.activation_channel", f"must be zero or positive, got {channel}")
    return ReportSettings(
        activation_images=image_indices(report["activation_images"], "report.activation_images"),
        activation_channel=channel,
        misclassified_shown=positive(report["misclassified_shown"], "report.misclassified_shown"),
        explained_images=image_indices(report["explained_images"], "report.explained_images"),
    )


def model_names(params: dict) -> list[str]:
    return list(section(params, "models"))


def layer_spec(layer: object, key: str) -> dict:
    """Check one layer declaration and return it with every argument filled in."""
    layer = typed(layer, dict, key)
    kind = layer.get("type")
    if kind not in LAYER_ARGS:
        raise fail(f"{key}.type", f"unknown layer type {kind!r} (expected one of {', '.join(LAYER_ARGS)})")
    allowed = LAYER_ARGS[kind]
    for name in layer:
        if name != "type" and name not in allowed:
            expected = ", ".join(allowed) or "no arguments"
            raise fail(f"{key}.{name}", f"unknown argument of a {kind} layer (expected {expected})")
    spec = {"type": kind}
    for name, (kind_of_value, default) in allowed.items():
        value = layer.get(name, default)
        if value is REQUIRED:
            raise fail(f"{key}.{name}", f"required by a {kind} layer")
        if value is not None:
            value = typed(value, kind_of_value, f"{key}.{name}")
        spec[name] = value
    for name in ("filters", "kernel", "strides", "pool", "units"):
        if spec.get(name) is not None:
            positive(spec[name], f"{key}.{name}")
    for name, choices in (("padding", PADDINGS), ("activation", ACTIVATIONS)):
        if name in spec and spec[name] not in choices:
            raise fail(f"{key}.{name}", f"{spec[name]!r} is not one of {', '.join(choices)}")
    for name in ("l1", "l2"):
        if name in spec and spec[name] < 0:
            raise fail(f"{key}.{name}", f"must be zero or positive, got {spec[name]}")
    if kind == "dropout" and not 0 <= spec["rate"] < 1:
        raise fail(f"{key}.rate", f"must be in [0, 1), got {spec['rate']}")
    return spec


def check_shapes(layers: list[dict], keys: list[str]) -> None:
    """Walk the input shape through the layers; every layer must fit, and end in 10 classes."""
    shape = INPUT_SHAPE
    for layer, key in zip(layers, keys, strict=True):
        try:
            shape = layer_output_shape(layer, shape)
        except ValueError as error:
            raise fail(key, str(error)) from None
    last, key = layers[-1], keys[-1]
    if last["type"] != "dense" or last["units"] != len(CLASS_NAMES) or last["activation"] != "softmax":
        raise fail(key, f"the last layer must be a dense layer of {len(CLASS_NAMES)} units with softmax")


def model_config(params: dict, name: str) -> ModelConfig:
    """The named model's declaration merged over `defaults`, fully checked."""
    models = section(params, "models")
    if name not in models:
        raise fail("models", f"no model named {name!r} (known: {', '.join(models)})")
    block = typed(models[name], dict, f"models.{name}")
    defaults = section(params, "defaults")
    for key, where in [(k, "defaults") for k in defaults] + [(k, f"models.{name}") for k in block]:
        if key not in TRAINING_KEYS and not (where != "defaults" and key == "layers"):
            raise fail(f"{where}.{key}", f"unknown key (expected layers or one of {', '.join(TRAINING_KEYS)})")
    settings = {**defaults, **block}
    origin = {key: f"models.{name}" if key in block else "defaults" for key in settings}
    for key in ("layers", *TRAINING_KEYS):
        if key not in settings and key != "stop_at_accuracy":
            raise fail(f"models.{name}.{key}", "missing (and not set in defaults)")

    layers, keys = [], []
    for part in ("layers", "head"):
        declared = typed(settings[part], list, f"{origin[part]}.{part}")
        for index, layer in enumerate(declared):
            keys.append(f"{origin[part]}.{part}[{index}]")
            layers.append(layer_spec(layer, keys[-1]))
    if not layers:
        raise fail(f"models.{name}.layers", "the model has no layers")
    check_shapes(layers, keys)

    optimizer = typed(settings["optimizer"], str, f"{origin['optimizer']}.optimizer")
    if optimizer not in OPTIMIZERS:
        raise fail(f"{origin['optimizer']}.optimizer", f"{optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    threshold = settings.get("stop_at_accuracy")
    if threshold is not None:
        threshold = typed(threshold, float, f"{origin['stop_at_accuracy']}.stop_at_accuracy")
        if not 0 < threshold <= 1:
            raise fail(f"{origin['stop_at_accuracy']}.stop_at_accuracy", f"must be in (0, 1], got {threshold}")
    return ModelConfig(
        name=name,
        layers=tuple(layers),
        optimizer=optimizer,
        learning_rate=positive(settings["learning_rate"], f"{origin['learning_rate']}.learning_rate", float),
        batch_size=positive(settings["batch_size"], f"{origin['batch_size']}.batch_size"),
        epochs=positive(settings["epochs"], f"{origin['epochs']}.epochs"),
        stop_at_accuracy=threshold,
    )
