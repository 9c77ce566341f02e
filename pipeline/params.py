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
    # Data augmentation: Keras preprocessing layers, active only while training.
    "random_shift": {"factor": (float, REQUIRED)},
    "random_flip": {"mode": (str, "horizontal")},
    "random_zoom": {"factor": (float, REQUIRED)},
}
AUGMENTATIONS = ("random_shift", "random_flip", "random_zoom")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
ACTIVATIONS = ("relu", "softmax", "sigmoid", "tanh", "linear", "elu", "selu", "gelu", "swish")
PADDINGS = ("valid", "same")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
TRAINING_KEYS = (
    "optimizer",
    "learning_rate",
    "batch_size",
    "epochs",
    "stop_at_accuracy",
    "early_stopping_patience",
    "train_fraction",
    "head",
)
OPTIONAL_KEYS = {"stop_at_accuracy": None, "early_stopping_patience": None, "train_fraction": 1.0}
STUDIES = ("overfitting",)
PROFILES = ("default", "fast")
STRATEGIES = ("auto", "none", "mirrored", "multi_worker")
PRECISIONS = ("mixed_bfloat16", "mixed_float16", "float32")
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
    early_stopping_patience: int | None = None
    train_fraction: float = 1.0


@dataclass(frozen=True)
class TrainingSettings:
    """How models are trained (not what they are): see `training` in params.yaml."""

    steps_per_execution: int
    profile: str
    strategy: str
    fast_batch_multiplier: int
    fast_precision: str


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


def model_names(params: dict, study: str | None = None) -> list[str]:
    if study is None:
        return list(section(params, "models"))
    return list(typed(section(params, study).get("models"), dict, f"{study}.models"))


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
    if "factor" in spec and not 0 < spec["factor"] < 1:
        raise fail(f"{key}.factor", f"must be a fraction of the image in (0, 1), got {spec['factor']}")
    if kind == "random_flip" and spec["mode"] not in FLIP_MODES:
        raise fail(f"{key}.mode", f"{spec['mode']!r} is not one of {', '.join(FLIP_MODES)}")
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


def model_block(params: dict, name: str, study: str | None) -> tuple[dict, dict, str]:
    """The named model's own block, the defaults it is merged over, and its key prefix."""
    if study is None:
        models, prefix, defaults = section(params, "models"), "models", section(params, "defaults")
    else:
        if study not in STUDIES:
            raise fail(study, f"unknown study (expected one of {', '.join(STUDIES)})")
        block = section(params, study)
        models, prefix = typed(block.get("models"), dict, f"{study}.models"), f"{study}.models"
        overrides = typed(block.get("defaults", {}), dict, f"{study}.defaults")
        check_training_keys(overrides, f"{study}.defaults")
        defaults = {**section(params, "defaults"), **overrides}
    if name not in models:
        raise fail(prefix, f"no model named {name!r} (known: {', '.join(models)})")
    return typed(models[name], dict, f"{prefix}.{name}"), defaults, f"{prefix}.{name}"


def check_training_keys(block: dict, where: str, layers_allowed: bool = False) -> None:
    for key in block:
        if key not in TRAINING_KEYS and not (layers_allowed and key == "layers"):
            raise fail(f"{where}.{key}", f"unknown key (expected layers or one of {', '.join(TRAINING_KEYS)})")


def model_config(params: dict, name: str, study: str | None = None) -> ModelConfig:
    """The named model's declaration merged over `defaults`, fully checked.

    A model of a study (e.g. `overfitting`) is merged over `defaults`, then `<study>.defaults`.
    """
    block, defaults, where = model_block(params, name, study)
    check_training_keys(defaults, "defaults")
    check_training_keys(block, where, layers_allowed=True)
    settings = {**OPTIONAL_KEYS, **defaults, **block}
    origin = {key: where if key in block else "defaults" for key in settings}
    for key in ("layers", *TRAINING_KEYS):
        if key not in settings:
            raise fail(f"{where}.{key}", "missing (and not set in defaults)")

    layers, keys = [], []
    for part in ("layers", "head"):
        declared = typed(settings[part], list, f"{origin[part]}.{part}")
        for index, layer in enumerate(declared):
            keys.append(f"{origin[part]}.{part}[{index}]")
            layers.append(layer_spec(layer, keys[-1]))
    if not layers:
        raise fail(f"{where}.layers", "the model has no layers")
    check_shapes(layers, keys)

    def key_of(name: str) -> str:
        return f"{origin[name]}.{name}"

    optimizer = typed(settings["optimizer"], str, key_of("optimizer"))
    if optimizer not in OPTIMIZERS:
        raise fail(key_of("optimizer"), f"{optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    threshold = settings["stop_at_accuracy"]
    if threshold is not None:
        threshold = typed(threshold, float, key_of("stop_at_accuracy"))
        if not 0 < threshold <= 1:
            raise fail(key_of("stop_at_accuracy"), f"must be in (0, 1], got {threshold}")
    patience = settings["early_stopping_patience"]
    if patience is not None:
        patience = positive(patience, key_of("early_stopping_patience"))
    fraction = typed(settings["train_fraction"], float, key_of("train_fraction"))
    if not 0 < fraction <= 1:
        raise fail(key_of("train_fraction"), f"must be in (0, 1], got {fraction}")
    return ModelConfig(
        name=name,
        layers=tuple(layers),
        optimizer=optimizer,
        learning_rate=positive(settings["learning_rate"], key_of("learning_rate"), float),
        batch_size=positive(settings["batch_size"], key_of("batch_size")),
        epochs=positive(settings["epochs"], key_of("epochs")),
        stop_at_accuracy=threshold,
        early_stopping_patience=patience,
        train_fraction=fraction,
    )


def training_settings(params: dict) -> TrainingSettings:
    """The `training` section: steps per compiled call, the profile, the distribution strategy."""
    training = section(params, "training")
    expected = {"steps_per_execution", "profile", "strategy", "fast"}
    for key in sorted(set(training) ^ expected):
        raise fail(f"training.{key}", "unknown key" if key in training else "missing")
    fast = typed(training["fast"], dict, "training.fast")
    for key in sorted(set(fast) ^ {"batch_multiplier", "precision"}):
        raise fail(f"training.fast.{key}", "unknown key" if key in fast else "missing")
    choices = {
        "training.profile": (training["profile"], PROFILES),
        "training.strategy": (training["strategy"], STRATEGIES),
        "training.fast.precision": (fast["precision"], PRECISIONS),
    }
    for key, (value, allowed) in choices.items():
        if typed(value, str, key) not in allowed:
            raise fail(key, f"{value!r} is not one of {', '.join(allowed)}")
    return TrainingSettings(
        steps_per_execution=positive(training["steps_per_execution"], "training.steps_per_execution"),
        profile=training["profile"],
        strategy=training["strategy"],
        fast_batch_multiplier=positive(fast["batch_multiplier"], "training.fast.batch_multiplier"),
        fast_precision=fast["precision"],
    )
