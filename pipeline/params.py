"""Reading params.yaml and checking every value a stage uses before any work starts.

A failed check is one PipelineError naming every bad key of the block, e.g.
`params.yaml: models.cnn_16.layers.conv_1.kernel: 30 is larger than its 28x28 input`.
Names of models, variants and layers become file paths and Keras names, so they are
checked as soon as params.yaml is read: lower-case letters, digits, `_` and `-`.
"""

import math
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from pipeline.errors import PipelineError
from pipeline.fashion_mnist import CLASS_NAMES, IMAGE_SIDE, TEST_COUNT
from pipeline.layers import (
    LAYER_TYPES,
    QUOTED,
    REQUIRED,
    Argument,
    key_text,
    layer_output_shape,
    non_negative,
    one_of,
    positive,
    quote,
    within,
)
from pipeline.names import NAME_RULE, is_valid_name

PARAMS_FILE = Path("params.yaml")
INPUT_SHAPE = (IMAGE_SIDE, IMAGE_SIDE, 1)
OLD_FORM = (
    "is a list, the old form; declare a mapping from layer name to layer, e.g. "
    "`conv_1: {type: conv, filters: 32}`, `pool_1: {type: maxpool}`, `flatten: {type: flatten}`"
)
MIN_SUBSET = 10 * len(CLASS_NAMES)  # images: ten of each class
OPTIMIZERS = ("adam", "sgd", "rmsprop")
# A model's training settings: in `defaults`, a study's `defaults`, or the model's own block.
TRAINING: dict[str, Argument] = {
    "optimizer": Argument(str, REQUIRED, one_of(*OPTIMIZERS)),
    "learning_rate": Argument(float, REQUIRED, positive),
    "batch_size": Argument(int, REQUIRED, positive),
    "epochs": Argument(int, REQUIRED, positive),
    "stop_at_accuracy": Argument(float, None, within(0, 1, closed_high=True), nullable=True),
    "early_stopping_patience": Argument(int, None, positive, nullable=True),
    "train_fraction": Argument(float, 1.0, within(0, 1, closed_high=True)),
}
MODEL_KEYS = ("layers", "head", *TRAINING)
STUDIES = ("overfitting",)
PROFILES = ("default", "fast")
STRATEGIES = ("auto", "none", "mirrored", "multi_worker")
PRECISIONS = ("mixed_bfloat16", "mixed_float16", "float32")
TYPE_NAMES = {int: "an integer", float: "a finite number", str: "a string", list: "a list", dict: "a mapping"}


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
class InsightSettings:
    cam_per_class: int
    confused_shown: int
    patches: int
    patch_images: int
    every_layer_of: str
    templates_of: str
    kernels_of: str
    projected: tuple[str, ...]
    projection_images: int
    perplexity: float
    neighbours: int


@dataclass(frozen=True)
class ModelConfig:
    """A model's full declaration: its layers then the head, and its training settings.

    Each layer is a checked spec: its `name`, `type` and every argument of its type.
    """

    name: str
    layers: tuple[dict, ...]
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    stop_at_accuracy: float | None
    early_stopping_patience: int | None = None
    train_fraction: float = 1.0
    head_size: int = 0  # how many of `layers`, at the end, are the head


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


class Problems:
    """Every problem found in a block, raised together as one error line."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.found.append(f"{key}: {message}")

    def add_error(self, error: PipelineError) -> None:
        self.found.append(str(error).removeprefix(f"{PARAMS_FILE}: "))

    def raise_any(self) -> None:
        if self.found:
            raise PipelineError(f"{PARAMS_FILE}: " + "; ".join(self.found))


def typed(value: object, kind: type, key: str) -> object:
    """Return value as `kind`, accepting an integer where a number is expected.

    Rejects null, booleans where numbers are expected, and NaN or infinity.
    """
    if value is None:
        raise fail(key, f"expected {TYPE_NAMES[kind]}, got null")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > sys.float_info.max:
            raise fail(key, f"expected {TYPE_NAMES[kind]}, got {quote(value)}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise fail(key, f"expected {TYPE_NAMES[kind]}, got {quote(value)}")
    if kind is float and not math.isfinite(value):
        raise fail(key, f"expected {TYPE_NAMES[kind]}, got {quote(value)}")
    return value


def checked(value: object, argument: Argument, key: str) -> object:
    """A value of the argument's type that passes its check (or null, where null means something)."""
    if value is None and argument.nullable:
        return None
    value = typed(value, argument.kind, key)
    problem = argument.check(value)
    if problem:
        raise fail(key, problem)
    return value


def arguments(block: dict, allowed: dict[str, Argument], where: str, problems: Problems, also: tuple = ()) -> dict:
    """Every allowed argument of a block, defaults filled in; unknown and bad keys go to `problems`."""
    for key in block:
        if key not in allowed and key not in also:
            expected = ", ".join([*also, *allowed]) or "no arguments"
            problems.add(f"{where}.{key_text(key)}", f"unknown key (expected {expected})")
    values = {}
    for name, argument in allowed.items():
        if name in block:
            value = block[name]
        elif argument.default is REQUIRED:
            problems.add(f"{where}.{name}", "required")
            continue
        elif callable(argument.default):
            try:
                value = argument.default(values)
            except KeyError:  # it derives from an argument before it, which is bad and reported
                continue
        else:
            value = argument.default
        try:
            values[name] = checked(value, argument, f"{where}.{name}")
        except PipelineError as error:
            problems.add_error(error)
    return values


def section(params: dict, key: str) -> dict:
    if key not in params:
        raise fail(key, "missing")
    return typed(params[key], dict, key)


def check_name(name: object, key: str, reserved: tuple[str, ...] = ()) -> None:
    """A name of the rule (pipeline/names.py), and not one the pipeline's own outputs use."""
    if not is_valid_name(name):
        raise fail(key, f"{quote(name)} is not a valid name ({NAME_RULE})")
    if name in reserved:
        raise fail(key, f"{name!r} is reserved (taken by the pipeline's own outputs); choose another name")


def check_model_names(params: dict) -> None:
    """Model and variant names become file paths and command arguments: check them all first.

    reports/figures/ holds a folder per model and the overfitting study's folder, which holds
    a figure per variant and overlay.png: those names are reserved.
    """
    blocks = {"models": (params.get("models"), STUDIES)}
    for study in STUDIES:
        if study in params:
            blocks[f"{study}.models"] = (section(params, study).get("models"), ("overlay",))
    for where, (models, reserved) in blocks.items():
        if models is None:
            raise fail(where, "missing; declare at least one model")
        models = typed(models, dict, where)
        if not models:
            raise fail(where, "declares no model; declare at least one")
        for name in models:
            check_name(name, f"{where}.{key_text(name)}", reserved)


def load_params(path: Path = PARAMS_FILE) -> dict:
    """Parse params.yaml as DVC does (YAML 1.2, safe: no arbitrary objects) and check its names.

    The same parser as DVC's `-S` (ruamel.yaml) reads `1e-05` as the number DVC wrote, and
    refuses a key written twice instead of keeping the last.
    """
    try:
        params = YAML(typ="safe").load(path.read_bytes())
    except OSError as error:
        raise PipelineError(f"{path}: cannot read ({error.strerror})") from None
    except MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = textwrap.shorten(str(error.problem or error), 2 * QUOTED, placeholder="…")
        raise PipelineError(f"{path}: not valid YAML{where} ({reason})") from None
    except (YAMLError, UnicodeDecodeError, ValueError, RecursionError) as error:  # bad bytes, huge or deep values
        raise PipelineError(f"{path}: not valid YAML ({type(error).__name__})") from None
    if not isinstance(params, dict):
        raise PipelineError(f"{path}: expected a mapping of parameters at the top level")
    check_model_names(params)
    return params


SEED = Argument(int, REQUIRED, within(0, 2**32 - 1, True, True))
MAX_SEEDS = 100


def seed(params: dict) -> int:
    """The validation split's seed."""
    return checked(params.get("seed"), SEED, "seed")


def seeds(params: dict) -> tuple[int, ...]:
    """The training seeds: every model is trained once per seed, the first is the one shown."""
    values = typed(params.get("seeds"), list, "seeds")
    if not 1 <= len(values) <= MAX_SEEDS:
        raise fail("seeds", f"expected 1 to {MAX_SEEDS} seeds, got {len(values)}")
    checked_seeds = tuple(checked(value, SEED, f"seeds[{index}]") for index, value in enumerate(values))
    repeated = next((value for index, value in enumerate(checked_seeds) if value in checked_seeds[:index]), None)
    if repeated is not None:
        raise fail("seeds", f"seed {repeated} is listed twice; each seed must be a different run")
    return checked_seeds


def threads(params: dict) -> int:
    """TensorFlow threads per training process; 0 means the cores divided among the processes."""
    return checked(params.get("threads", 1), Argument(int, 1, within(0, 1024, True, True)), "threads")


def checked_section(params: dict, key: str, allowed: dict[str, Argument], where: str = "") -> dict:
    """A section's arguments, checked; `where` is the key path of `params` itself, if nested."""
    problems = Problems()
    values = arguments(section(params, key), allowed, where + key, problems)
    problems.raise_any()
    return values


DATA = {
    "validation_fraction": Argument(float, 0.0, within(0, 1, closed_low=True)),
    "subset": Argument(int, None, within(MIN_SUBSET, math.inf, closed_low=True), nullable=True),
}


def data_settings(params: dict) -> DataSettings:
    return DataSettings(**checked_section(params, "data", DATA))


def image_indices(values: object, key: str) -> tuple[int, ...]:
    values = typed(values, list, key)
    if not values:
        raise fail(key, "needs at least one test image index")
    index_argument = Argument(int, REQUIRED, within(0, TEST_COUNT - 1, closed_low=True, closed_high=True))
    return tuple(checked(value, index_argument, f"{key}[{index}]") for index, value in enumerate(values))


REPORT = {
    "activation_images": Argument(list),
    "activation_channel": Argument(int, REQUIRED, non_negative),
    "misclassified_shown": Argument(int, REQUIRED, positive),
    "explained_images": Argument(list),
}


def report_settings(params: dict) -> ReportSettings:
    report = checked_section(params, "report", REPORT)
    return ReportSettings(
        activation_images=image_indices(report["activation_images"], "report.activation_images"),
        activation_channel=report["activation_channel"],
        misclassified_shown=report["misclassified_shown"],
        explained_images=image_indices(report["explained_images"], "report.explained_images"),
    )


TEST_IMAGES = Argument(int, REQUIRED, within(1, TEST_COUNT, closed_low=True, closed_high=True))
INSIGHT = {
    "cam_per_class": TEST_IMAGES,
    "confused_shown": Argument(int, REQUIRED, within(1, 100, closed_low=True, closed_high=True)),
    "patches": Argument(int, REQUIRED, within(1, 25, closed_low=True, closed_high=True)),
    "patch_images": TEST_IMAGES,
    "every_layer_of": Argument(str),
    "templates_of": Argument(str),
    "kernels_of": Argument(str),
    "projected": Argument(list),
    "projection_images": Argument(int, REQUIRED, within(50, TEST_COUNT, closed_low=True, closed_high=True)),
    "perplexity": Argument(float, REQUIRED, within(1, 100, closed_low=True, closed_high=True)),
    "neighbours": Argument(int, REQUIRED, within(1, 50, closed_low=True, closed_high=True)),
}


def insight_settings(params: dict) -> InsightSettings:
    """`insight`: what the Grad-CAM, filter, template and feature-space figures show, and of which models."""
    insight = checked_section(params, "insight", INSIGHT)
    known = model_names(params)
    projected = typed(insight["projected"], list, "insight.projected")
    if not 1 <= len(projected) <= len(known):
        raise fail("insight.projected", f"expected 1 to {len(known)} models, got {len(projected)}")
    repeated = next((name for index, name in enumerate(projected) if name in projected[:index]), None)
    if repeated is not None:
        raise fail("insight.projected", f"{quote(repeated)} is listed twice")
    images, folds = insight["projection_images"], 5
    if insight["perplexity"] >= images:
        raise fail("insight.perplexity", f"must be below insight.projection_images ({images})")
    if insight["neighbours"] > images * (folds - 1) // folds - 1:
        raise fail("insight.neighbours", f"too many for the {images * (folds - 1) // folds} images of a training fold")
    named = {key: insight[key] for key in ("every_layer_of", "templates_of", "kernels_of")}
    named |= {f"projected[{index}]": name for index, name in enumerate(projected)}
    problems = Problems()
    for key, name in named.items():
        if not isinstance(name, str) or name not in known:
            problems.add(f"insight.{key}", f"no such model {quote(name)} (known: {', '.join(known)})")
    problems.raise_any()
    return InsightSettings(**{**insight, "projected": tuple(projected)})


def model_names(params: dict, study: str | None = None) -> list[str]:
    if study is None:
        return list(section(params, "models"))
    return list(typed(section(params, study).get("models"), dict, f"{study}.models"))


def layer_specs(declared: object, key: str, problems: Problems) -> list[dict]:
    """Check a mapping of layer name -> layer and return the layers' specs in order."""
    if isinstance(declared, list):
        problems.add(key, OLD_FORM)
        return []
    if not isinstance(declared, dict):
        problems.add(key, f"expected a mapping from layer name to layer, got {quote(declared)}")
        return []
    specs = []
    for name, layer in declared.items():
        where = f"{key}.{name}"
        try:
            check_name(name, f"{key}.{key_text(name)}", reserved=("input_layer",))  # Keras's name for the input
            layer = typed(layer, dict, where)
        except PipelineError as error:
            problems.add_error(error)
            continue
        kind = layer.get("type")
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            expected = ", ".join(LAYER_TYPES)
            problems.add(f"{where}.type", f"unknown layer type {quote(kind)} (expected one of {expected})")
            continue
        values = arguments(layer, LAYER_TYPES[kind].arguments, where, problems, also=("type",))
        specs.append({"name": name, "type": kind, **values})
    return specs


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


def declarations(params: dict, name: str, study: str | None) -> dict[str, dict]:
    """The blocks a model is merged from, by key prefix: `defaults`, `<study>.defaults`, its own."""
    blocks = {"defaults": section(params, "defaults")}
    if study is None:
        models, prefix = section(params, "models"), "models"
    else:
        if study not in STUDIES:
            raise fail(study, f"unknown study (expected one of {', '.join(STUDIES)})")
        models, prefix = typed(section(params, study).get("models"), dict, f"{study}.models"), f"{study}.models"
        blocks[f"{study}.defaults"] = typed(params[study].get("defaults", {}), dict, f"{study}.defaults")
    if name not in models:
        raise fail(prefix, f"no model named {quote(name)} (known: {', '.join(models)})")
    blocks[f"{prefix}.{name}"] = typed(models[name], dict, f"{prefix}.{name}")
    return blocks


def model_config(params: dict, name: str, study: str | None = None) -> ModelConfig:
    """The named model's declaration merged over `defaults`, fully checked.

    A model of a study (e.g. `overfitting`) is merged over `defaults`, then `<study>.defaults`.
    Every problem of the merged blocks is reported at once.
    """
    blocks = declarations(params, name, study)
    problems = Problems()
    origin: dict[str, str] = {}  # setting -> the block it comes from
    for where, block in blocks.items():
        for key in block:
            if key in MODEL_KEYS:
                origin[key] = where
            else:
                problems.add(f"{where}.{key_text(key)}", f"unknown key (expected one of {', '.join(MODEL_KEYS)})")
    layers, keys, head_size = [], [], 0
    for part in ("layers", "head"):
        if part not in origin:
            problems.add(f"{list(blocks)[-1]}.{part}", "missing (and not set in defaults)")
            continue
        key = f"{origin[part]}.{part}"
        specs = layer_specs(blocks[origin[part]][part], key, problems)
        head_size = len(specs) if part == "head" else 0
        for spec in specs:
            if spec["name"] in (layer["name"] for layer in layers):
                problems.add(f"{key}.{spec['name']}", "a layer of this name comes earlier; layer names must be unique")
            layers.append(spec)
            keys.append(f"{key}.{spec['name']}")
    settings = {}
    for setting, argument in TRAINING.items():
        where = origin.get(setting, "defaults")
        block = {setting: blocks[where][setting]} if setting in origin else {}
        settings.update(arguments(block, {setting: argument}, where, problems))
    problems.raise_any()
    if not layers:
        raise fail(f"{list(blocks)[-1]}.layers", "the model has no layers")
    check_shapes(layers, keys)
    return ModelConfig(name=name, layers=tuple(layers), head_size=head_size, **settings)


TRAINING_SECTION = {
    "steps_per_execution": Argument(int, REQUIRED, positive),
    "profile": Argument(str, REQUIRED, one_of(*PROFILES)),
    "strategy": Argument(str, REQUIRED, one_of(*STRATEGIES)),
    "fast": Argument(dict),
}
FAST = {
    "batch_multiplier": Argument(int, REQUIRED, positive),
    "precision": Argument(str, REQUIRED, one_of(*PRECISIONS)),
}


def training_settings(params: dict) -> TrainingSettings:
    """The `training` section: steps per compiled call, the profile, the distribution strategy."""
    training = checked_section(params, "training", TRAINING_SECTION)
    fast = checked_section(training, "fast", FAST, where="training.")
    return TrainingSettings(
        steps_per_execution=training["steps_per_execution"],
        profile=training["profile"],
        strategy=training["strategy"],
        fast_batch_multiplier=fast["batch_multiplier"],
        fast_precision=fast["precision"],
    )


ACCURACY = Argument(float, REQUIRED, within(0, 1, closed_low=True, closed_high=True))
REFERENCE = {name: Argument(float, None, ACCURACY.check, nullable=True) for name in ("train_accuracy", "test_accuracy")}


def per_model(params: dict, where: str, block: object) -> dict:
    """A mapping under `where` whose keys must all be declared models."""
    block = typed(block, dict, where)
    unknown = [name for name in block if name not in model_names(params)]
    if unknown:
        raise fail(f"{where}.{key_text(unknown[0])}", f"no such model (known: {', '.join(model_names(params))})")
    return block


@dataclass(frozen=True)
class GateSettings:
    mean_margin: float  # how far a mean may fall below the course's figure, at least
    seed_margin_sds: float  # how many pooled seed SDs a single seed may fall below the lowest acceptable mean


GATES = {
    "mean_margin": Argument(float, REQUIRED, within(0, 1, closed_low=True)),
    "seed_margin_sds": Argument(float, REQUIRED, within(0, 100, closed_low=True)),
}


def gate_settings(params: dict) -> GateSettings:
    """`gates`: how far below the course's figures a model's mean and its seeds may fall."""
    return GateSettings(**checked_section(params, "gates", GATES))


def comparisons(params: dict) -> list[tuple[str, str]]:
    """`comparisons`: the (model, other model) pairs whose difference models.md states."""
    declared = per_model(params, "comparisons", params.get("comparisons", {}))
    pairs = []
    for name, others in declared.items():
        for index, other in enumerate(typed(others, list, f"comparisons.{name}")):
            key = f"comparisons.{name}[{index}]"
            if not is_valid_name(other) or other not in model_names(params):
                raise fail(key, f"no such model {quote(other)} (known: {', '.join(model_names(params))})")
            if other == name:
                raise fail(key, "a model compared with itself")
            pairs.append((name, other))
    return pairs


def reference_accuracies(params: dict) -> dict[str, dict]:
    """`reference`: the course note's training and test accuracy of a model, where it gives them."""
    reference = per_model(params, "reference", params.get("reference", {}))
    problems = Problems()
    checked_reference = {
        name: arguments(typed(block, dict, f"reference.{name}"), REFERENCE, f"reference.{name}", problems)
        for name, block in reference.items()
    }
    problems.raise_any()
    return checked_reference
