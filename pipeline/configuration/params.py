"""Reading params.yaml and checking every value a stage uses before any work starts.

SCHEMA is the one declaration of params.yaml: every key, its type, range and default (a layer's
arguments: LAYER_TYPES in pipeline/architecture/layers.py). The functions below walk it, and add the few
rules between keys that one key's declaration cannot say, to the same list of problems: a
failed check is one PipelineError naming every bad key of the block, e.g.
`params.yaml: models.cnn_16.layers.conv_1.kernel: 30 is larger than its 28x28 input`.
Names of models, variants and layers become file paths and Keras names, so they are
checked as soon as params.yaml is read: lower-case letters, digits, `_` and `-`.
"""

import math
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from pipeline.architecture.arguments import (
    QUOTED,
    REQUIRED,
    Argument,
    key_text,
    keys_of,
    non_negative,
    param,
    positive,
    quote,
    within,
)
from pipeline.architecture.layers import LAYER_TYPES, layer_output_shape
from pipeline.architecture.memory import MemoryEstimate, machine_memory, megabytes, training_memory
from pipeline.architecture.shapes import parameter_count
from pipeline.configuration.config import (
    INPUT_SHAPE,
    DataConfig,
    DataSettings,
    ModelConfig,
    RunConfig,
    TrainingSettings,
)
from pipeline.data.fashion_mnist import CLASS_NAMES, TEST_COUNT, TRAIN_COUNT
from pipeline.errors import PipelineError
from pipeline.files.names import NAME_RULE, is_valid_name

PARAMS_FILE = Path("params.yaml")
OLD_FORM = (
    "is a list, the old form; declare a mapping from layer name to layer, e.g. "
    "`conv_1: {type: conv, filters: 32}`, `pool_1: {type: maxpool}`, `flatten: {type: flatten}`"
)
MAX_SEEDS = 100
FOLDS = 5  # the feature space's k-nearest-neighbour score is cross-validated over this many folds
STUDIES = ("overfitting",)
STUDY_BASE = "base"  # the overfitting study's variant that every remedy is compared with
FEATURE_TYPES = ("conv", "maxpool")  # the layers whose outputs are feature maps
TYPE_NAMES = {int: "an integer", float: "a finite number", str: "a string", list: "a list", dict: "a mapping"}
MAX_LISTED = 10  # problems in one error line; a hostile file may have thousands


def count(low: int, high: int, what: str) -> Callable[[list], str | None]:
    """A check that a list has `low` to `high` items."""
    return lambda values: None if low <= len(values) <= high else f"expected {low} to {high} {what}, got {len(values)}"


def section(keys: dict[str, Argument], default: object = REQUIRED) -> Argument:
    """A mapping of exactly these keys."""
    return Argument(dict, default, items=keys)


def interval(low: float, high: float) -> Callable[[float], str | None]:
    """A check that a value lies in [low, high]."""
    return within(low, high, closed_low=True, closed_high=True)


SEED = Argument(int, REQUIRED, interval(0, 2**32 - 1))
TEST_IMAGES = Argument(int, REQUIRED, interval(1, TEST_COUNT))
TEST_IMAGE_INDICES = Argument(
    list, REQUIRED, lambda indices: None if indices else "needs at least one test image index",
    items=Argument(int, REQUIRED, interval(0, TEST_COUNT - 1)),
)  # fmt: skip
MODEL_NAMES = Argument(list)  # of models declared under `models`: see declared_models()
ACCURACY = Argument(float, None, interval(0, 1), nullable=True)


@dataclass(frozen=True)
class ReportSettings:
    """`report`: which test images and feature map the figures in reports/ show."""

    activation_images: tuple[int, ...] = param(TEST_IMAGE_INDICES)
    activation_channel: int = param(Argument(int, REQUIRED, non_negative))
    misclassified_shown: int = param(Argument(int, REQUIRED, positive))
    explained_images: tuple[int, ...] = param(TEST_IMAGE_INDICES)


@dataclass(frozen=True)
class InsightSettings:
    """`insight`: what the Grad-CAM, filter, template and feature-space figures show, and of which models."""

    cam_per_class: int = param(TEST_IMAGES)
    confused_shown: int = param(Argument(int, REQUIRED, interval(1, 100)))
    patches: int = param(Argument(int, REQUIRED, interval(1, 25)))
    patch_images: int = param(TEST_IMAGES)
    every_layer_of: str = param(Argument(str))
    templates_of: str = param(Argument(str))
    kernels_of: str = param(Argument(str))
    projected: tuple[str, ...] = param(MODEL_NAMES)
    projection_images: int = param(Argument(int, REQUIRED, interval(50, TEST_COUNT)))
    perplexity: float = param(Argument(float, REQUIRED, interval(1, 100)))
    neighbours: int = param(Argument(int, REQUIRED, interval(1, 50)))


@dataclass(frozen=True)
class GateSettings:
    """`gates`: how far below the course's figures a model's mean and its seeds may fall."""

    # how far a mean may fall below the course's figure, at least
    mean_margin: float = param(Argument(float, REQUIRED, within(0, 1, closed_low=True)))
    # how many pooled seed SDs a single seed may fall below the lowest acceptable mean
    seed_margin_sds: float = param(Argument(float, REQUIRED, within(0, 100, closed_low=True)))


TRAINING = keys_of(ModelConfig)  # a model's training settings
# A block of `defaults`, `<study>.defaults` or a model. model_config merges a model over the
# defaults, then checks it: what is required is required of the merged blocks. `layers` and
# `head` map a layer's name to a layer: a `type` of LAYER_TYPES and its arguments (layer_specs).
LAYERS = Argument(dict)
MODEL: dict[str, Argument] = {"layers": LAYERS, "head": LAYERS, **TRAINING}
MODELS = Argument(
    dict, REQUIRED, lambda models: None if models else "declares no model; declare at least one", items=section(MODEL)
)
SCHEMA: dict[str, Argument] = {
    "seed": SEED,
    "seeds": Argument(list, REQUIRED, count(1, MAX_SEEDS, "seeds"), items=SEED),
    "threads": Argument(int, 1, interval(0, 1024)),
    "data": section(keys_of(DataSettings)),
    "defaults": section(MODEL),
    "training": section(keys_of(TrainingSettings)),
    "models": MODELS,
    "overfitting": section({"defaults": section(MODEL, default={}), "models": MODELS}),
    "report": section(keys_of(ReportSettings)),
    "insight": section(keys_of(InsightSettings)),
    "reference": Argument(dict, {}, items=section({"train_accuracy": ACCURACY, "test_accuracy": ACCURACY})),
    "comparisons": Argument(dict, {}, items=MODEL_NAMES),  # model -> the models it is compared with
    "gates": section(keys_of(GateSettings)),
}  # fmt: skip


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
        if len(self.found) > MAX_LISTED:
            self.found[MAX_LISTED:] = [f"and {len(self.found) - MAX_LISTED} more problems"]
        if self.found:
            raise PipelineError(f"{PARAMS_FILE}: " + "; ".join(self.found))


def typed(value: object, kind: type, key: str) -> object:
    """Return value as `kind`, accepting an integer where a number is expected.

    Rejects null, booleans where numbers are expected, and NaN or infinity.
    """
    if kind is float and isinstance(value, int) and not isinstance(value, bool) and abs(value) <= sys.float_info.max:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, kind) or (kind is float and not math.isfinite(value)):
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


def walk(value: object, argument: Argument, key: str, problems: Problems) -> object:
    """The value checked against its argument, then what it holds against the argument's `items`.

    A list's items come back as a tuple. Problems go to `problems`; a bad value comes back as None.
    """
    try:
        value = checked(value, argument, key)
    except PipelineError as error:
        problems.add_error(error)
        return None
    if value is None or argument.items is None:
        return value
    if isinstance(argument.items, dict):
        return arguments(value, argument.items, key, problems)
    if isinstance(value, list):
        return tuple(walk(item, argument.items, f"{key}[{index}]", problems) for index, item in enumerate(value))
    return {name: walk(item, argument.items, f"{key}.{key_text(name)}", problems) for name, item in value.items()}


def arguments(block: dict, allowed: dict[str, Argument], where: str, problems: Problems, also: tuple = ()) -> dict:
    """Every allowed argument of a block, defaults filled in; unknown and bad keys go to `problems`.

    A bad argument is left out of what comes back.
    """
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
        before = len(problems.found)
        value = walk(value, argument, f"{where}.{name}", problems)
        if len(problems.found) == before:
            values[name] = value
    return values


def setting(params: dict, key: str, problems: Problems) -> object:
    """A top-level key of params.yaml walked through SCHEMA: its value, or None where it is bad."""
    if key not in params and SCHEMA[key].default is REQUIRED:
        problems.add(key, "missing")
        return None
    return walk(params.get(key, SCHEMA[key].default), SCHEMA[key], key, problems)


def checked_setting(params: dict, key: str) -> object:
    """A top-level key that no rule between keys concerns, checked: every problem of it at once."""
    problems = Problems()
    value = setting(params, key, problems)
    problems.raise_any()
    return value


def repeated(values: tuple | list) -> object:
    """The first value listed twice (bad values, None, aside), or None."""
    return next((value for index, value in enumerate(values) if value is not None and value in values[:index]), None)


def mapping(params: dict, key: str) -> dict:
    """A top-level mapping that must be there, for a look inside it before it is checked in full."""
    if key not in params:
        raise fail(key, "missing")
    return typed(params[key], dict, key)


def check_name(name: object, key: str, problems: Problems, reserved: tuple[str, ...] = ()) -> bool:
    """A name of the rule (pipeline/files/names.py), and not one the pipeline's own outputs use."""
    if not is_valid_name(name):
        problems.add(key, f"{quote(name)} is not a valid name ({NAME_RULE})")
    elif name in reserved:
        problems.add(key, f"{name!r} is reserved (taken by the pipeline's own outputs); choose another name")
    else:
        return True
    return False


def check_model_names(params: dict) -> None:
    """Model and variant names become file paths and command arguments: check them all first.

    `overfitting` names the study's folders beside the models' in data/ and reports/, and the
    study's figures folder holds a figure per variant and overlay.png: those names are reserved.
    """
    problems = Problems()
    blocks = {"models": (params.get("models"), STUDIES)}
    for study in STUDIES:
        if study in params:
            blocks[f"{study}.models"] = (mapping(params, study).get("models"), ("overlay",))
    for where, (models, reserved) in blocks.items():
        if models is None:
            problems.add(where, "missing; declare at least one model")
            continue
        try:
            for name in checked(models, MODELS, where):
                check_name(name, f"{where}.{key_text(name)}", problems, reserved)
        except PipelineError as error:
            problems.add_error(error)
    problems.raise_any()


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
    unknown = [key_text(key) for key in params if key not in SCHEMA]  # a misspelt section is not ignored
    if unknown:
        raise PipelineError(f"{path}: unknown key(s) {listing(unknown)} (expected {', '.join(SCHEMA)})")
    check_model_names(params)
    return params


def seed(params: dict) -> int:
    """The validation split's seed."""
    return checked_setting(params, "seed")


def seeds(params: dict) -> tuple[int, ...]:
    """The training seeds: every model is trained once per seed, the first is the one shown."""
    problems = Problems()
    values = setting(params, "seeds", problems)
    twice = repeated(values or ())
    if twice is not None:
        problems.add("seeds", f"seed {twice} is listed twice; each seed must be a different run")
    problems.raise_any()
    return values


def threads(params: dict) -> int:
    """TensorFlow threads per training process; 0 means the cores divided among the processes."""
    return checked_setting(params, "threads")


def data_settings(params: dict) -> DataSettings:
    """`data`: the validation split and the subset trained on."""
    return DataSettings(**checked_setting(params, "data"))


def report_settings(params: dict) -> ReportSettings:
    """`report`: which test images and feature map the figures in reports/ show.

    The feature map must be a channel of every model's convolutions and pooling (their
    activations are drawn), checked here rather than after the models have trained.
    """
    problems = Problems()
    report = setting(params, "report", problems) or {}
    channel = report.get("activation_channel")
    if channel is not None:
        for name in model_names(params):
            narrowest = min(feature_channels(model_config(params, name)), default=None)
            if narrowest is not None and channel >= narrowest:
                problems.add(
                    "report.activation_channel",
                    f"{channel} is not a channel of models.{name}, whose narrowest convolution or pooling output"
                    f" has {narrowest} channels",
                )
    problems.raise_any()
    return ReportSettings(**report)


def model_names(params: dict, study: str | None = None) -> list[str]:
    """The models declared under `models`, or under `<study>.models`, in their order."""
    if study is None:
        return list(mapping(params, "models"))
    return list(typed(mapping(params, study).get("models"), dict, f"{study}.models"))


def listing(names: list[str]) -> str:
    """Names for an error line: the first MAX_LISTED, then how many more (a file may declare thousands)."""
    more = len(names) - MAX_LISTED
    return ", ".join(names[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def declared_models(params: dict, named: dict[str, object], problems: Problems) -> None:
    """Names (by their key path) that must be models declared under `models`."""
    known = model_names(params)
    declared = set(known)
    for key, name in named.items():
        if not isinstance(name, str) or name not in declared:
            problems.add(key, f"no such model {quote(name)} (known: {listing(known)})")


def insight_settings(params: dict) -> InsightSettings:
    """`insight`: what the Grad-CAM, filter, template and feature-space figures show, and of which models."""
    problems = Problems()
    insight = setting(params, "insight", problems) or {}
    projected, known = tuple(insight.get("projected", ())), len(model_names(params))
    if "projected" in insight and not 1 <= len(projected) <= known:
        problems.add("insight.projected", f"expected 1 to {known} models, got {len(projected)}")
    elif (twice := repeated(projected)) is not None:
        problems.add("insight.projected", f"{quote(twice)} is listed twice")
    images = insight.get("projection_images")
    if images is not None and insight.get("perplexity", 0) >= images:
        problems.add("insight.perplexity", f"must be below insight.projection_images ({images})")
    fold = images * (FOLDS - 1) // FOLDS if images is not None else math.inf  # training images of a fold
    if insight.get("neighbours", 0) > fold - 1:
        problems.add("insight.neighbours", f"too many for the {fold} images of a training fold")
    named = {key: insight[key] for key in ("every_layer_of", "templates_of", "kernels_of") if key in insight}
    named |= {f"projected[{index}]": name for index, name in enumerate(projected)}
    before = len(problems.found)
    declared_models(params, {f"insight.{key}": name for key, name in named.items()}, problems)
    if len(problems.found) == before:
        insight_layers(params, insight, problems)
    problems.raise_any()
    return InsightSettings(**{**insight, "projected": projected})


def insight_layers(params: dict, insight: dict, problems: Problems) -> None:
    """The layers the insight figures draw must be there: a dense layer straight on the pixels
    for `templates_of`, a convolution for `kernels_of` and `every_layer_of`."""
    if "templates_of" in insight:
        config = model_config(params, insight["templates_of"])
        dense = first_of(config, "dense")
        if dense is None:
            problems.add("insight.templates_of", f"models.{config.name} has no dense layer to draw")
        elif any(layer["type"] in FEATURE_TYPES for layer in config.layers[: config.layers.index(dense)]):
            problems.add(
                "insight.templates_of",
                f"models.{config.name} has convolutions or pooling before its first dense layer, whose weights are"
                " then not over the image's pixels",
            )
    for key in ("kernels_of", "every_layer_of"):
        if key in insight and first_of(model_config(params, insight[key]), "conv") is None:
            problems.add(f"insight.{key}", f"models.{insight[key]} has no convolution to draw")


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
        where = f"{key}.{key_text(name)}"
        if not check_name(name, where, problems, reserved=("input_layer",)):  # Keras's name for the input
            continue
        if not isinstance(layer, dict):
            problems.add(where, f"expected a mapping, got {quote(layer)}")
            continue
        kind = layer.get("type")
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            expected = ", ".join(LAYER_TYPES)
            problems.add(f"{where}.type", f"unknown layer type {quote(kind)} (expected one of {expected})")
            continue
        values = arguments(layer, LAYER_TYPES[kind].arguments, where, problems, also=("type",))
        specs.append({"name": name, "type": kind, **values})
    return specs


def check_shapes(layers: list[dict], keys: list[str], problems: Problems) -> None:
    """Walk the input shape through the layers; every layer must fit, and end in 10 classes."""
    shape = INPUT_SHAPE
    for layer, key in zip(layers, keys, strict=True):
        try:
            shape = layer_output_shape(layer, shape)
        except ValueError as error:
            problems.add(key, str(error))
            return  # the layers after it have no input shape to check
    last, key = layers[-1], keys[-1]
    if last["type"] != "dense" or last["units"] != len(CLASS_NAMES) or last["activation"] != "softmax":
        problems.add(key, f"the last layer must be a dense layer of {len(CLASS_NAMES)} units with softmax")


def feature_channels(config: ModelConfig) -> list[int]:
    """The channels of every convolution's and pooling's output, from the shape arithmetic."""
    channels, shape = [], INPUT_SHAPE
    for layer in config.layers:
        shape = layer_output_shape(layer, shape)
        if layer["type"] in FEATURE_TYPES:
            channels.append(shape[-1])
    return channels


def first_of(config: ModelConfig, kind: str) -> dict | None:
    """The model's first layer of a type, or None."""
    return next((layer for layer in config.layers if layer["type"] == kind), None)


def training_images(params: dict) -> tuple[int, int]:
    """How many images `prepare` leaves for training and for validation (data.subset and
    data.validation_fraction, as pipeline/data/arrays.py's stratified samples count them)."""
    settings = data_settings(params)
    total = settings.subset or TRAIN_COUNT
    validation = round(settings.validation_fraction * total)
    return total - validation, validation


def images_trained_on(params: dict, config: ModelConfig) -> int:
    """The training images a model's epochs go through: its `train_fraction` of them, as
    pipeline/training/fit.py's training_share counts it."""
    train = training_images(params)[0]
    return round(config.train_fraction * train) if config.train_fraction < 1 else train


def memory_estimate(params: dict, config: ModelConfig) -> MemoryEstimate:
    """A training process's memory for this model and its settings (pipeline/architecture/memory.py)."""
    train, validation = training_images(params)
    shares = images_trained_on(params, config) if config.train_fraction < 1 else 0  # training_share's copy
    settings = training_settings(params)
    batch = config.batch_size * (settings.fast_batch_multiplier if settings.profile == "fast" else 1)
    shape, parameters, values = INPUT_SHAPE, 0, math.prod(INPUT_SHAPE)
    for layer in config.layers:
        parameters += parameter_count(layer, shape)
        shape = layer_output_shape(layer, shape)
        values += math.prod(shape)
    return training_memory(parameters, values, config.optimizer, batch, train + validation + shares)


def check_resources(params: dict, config: ModelConfig, where: str, batch_key: str) -> None:
    """Refuse, before anything trains, a batch larger than the training images and a model whose
    training cannot fit in this machine's memory (the estimate against what the machine has)."""
    images = images_trained_on(params, config)
    if config.batch_size > images:
        raise fail(batch_key, f"{config.batch_size:,} is more than the {images:,} training images")
    estimate = memory_estimate(params, config)
    if estimate.total > machine_memory():
        raise fail(
            where,
            f"training needs about {megabytes(estimate.total)} per process ({estimate.parameters:,} parameters, batches"
            f" of {estimate.batch_size:,}), more than this machine's {megabytes(machine_memory())}",
        )


def declarations(params: dict, name: str, study: str | None) -> dict[str, dict]:
    """The blocks a model is merged from, by key prefix: `defaults`, `<study>.defaults`, its own."""
    blocks = {"defaults": mapping(params, "defaults")}
    if study is None:
        models, prefix = mapping(params, "models"), "models"
    else:
        if study not in STUDIES:
            raise fail(study, f"unknown study (expected one of {', '.join(STUDIES)})")
        models, prefix = typed(mapping(params, study).get("models"), dict, f"{study}.models"), f"{study}.models"
        defaults = SCHEMA[study].items["defaults"].default
        blocks[f"{study}.defaults"] = typed(params[study].get("defaults", defaults), dict, f"{study}.defaults")
    if name not in models:
        raise fail(prefix, f"no model named {quote(name)} (known: {listing(list(models))})")
    blocks[f"{prefix}.{name}"] = typed(models[name], dict, f"{prefix}.{name}")
    return blocks


def model_config(params: dict, name: str, study: str | None = None) -> ModelConfig:
    """The named model's declaration merged over `defaults`, fully checked.

    A model of a study (e.g. `overfitting`) is merged over `defaults`, then `<study>.defaults`.
    Every problem of the merged blocks is reported at once.
    """
    blocks = declarations(params, name, study)
    problems = Problems()
    merged: dict[str, tuple[str, object]] = {}  # key -> the block it comes from, its value
    for where, block in blocks.items():
        for key, value in block.items():
            if key in MODEL:
                merged[key] = (where, value)
            else:
                problems.add(f"{where}.{key_text(key)}", f"unknown key (expected one of {', '.join(MODEL)})")
    layers, keys, head_size = [], [], 0
    for part in ("layers", "head"):
        if part not in merged:
            problems.add(f"{list(blocks)[-1]}.{part}", "missing (and not set in defaults)")
            continue
        key = f"{merged[part][0]}.{part}"
        specs = layer_specs(merged[part][1], key, problems)
        head_size = len(specs) if part == "head" else 0
        for spec in specs:
            if spec["name"] in (layer["name"] for layer in layers):
                problems.add(f"{key}.{spec['name']}", "a layer of this name comes earlier; layer names must be unique")
            layers.append(spec)
            keys.append(f"{key}.{spec['name']}")
    settings = {}
    for key, argument in TRAINING.items():
        where, value = merged.get(key, ("defaults", None))
        settings |= arguments({key: value} if key in merged else {}, {key: argument}, where, problems)
    if not problems.found:  # the shapes need every layer's arguments
        if layers:
            check_shapes(layers, keys, problems)
        else:
            problems.add(f"{list(blocks)[-1]}.layers", "the model has no layers")
    problems.raise_any()
    config = ModelConfig(name=name, layers=tuple(layers), head_size=head_size, **settings)
    check_resources(params, config, list(blocks)[-1], f"{merged['batch_size'][0]}.batch_size")
    return config


def training_settings(params: dict) -> TrainingSettings:
    """The `training` section: steps per compiled call, the profile, the distribution strategy."""
    training = checked_setting(params, "training")
    fast = training.pop("fast")
    return TrainingSettings(**training, **{f"fast_{key}": value for key, value in fast.items()})


def data_config(params: dict) -> DataConfig:
    """What `prepare` is given by check_params: the validation split's seed and settings."""
    return DataConfig(seed(params), data_settings(params))


def run_config(params: dict, name: str, study: str | None = None) -> RunConfig:
    """What the named model's stages are given by check_params: the model, its training, seeds, memory."""
    config = model_config(params, name, study)
    return RunConfig(config, training_settings(params), seeds(params), threads(params), memory_estimate(params, config))


def gate_settings(params: dict) -> GateSettings:
    """`gates`: how far below the course's figures a model's mean and its seeds may fall."""
    return GateSettings(**checked_setting(params, "gates"))


def comparisons(params: dict) -> list[tuple[str, str]]:
    """`comparisons`: the (model, other model) pairs whose difference models.md states."""
    problems = Problems()
    declared = setting(params, "comparisons", problems) or {}
    named = {f"comparisons.{key_text(name)}": name for name in declared}
    pairs = {}  # key path -> (model, other model)
    for name, others in declared.items():
        pairs |= {f"comparisons.{key_text(name)}[{index}]": (name, other) for index, other in enumerate(others or ())}
    declared_models(params, named | {key: other for key, (_, other) in pairs.items()}, problems)
    for key, (name, other) in pairs.items():
        if other == name:
            problems.add(key, "a model compared with itself")
    problems.raise_any()
    return list(pairs.values())


def reference_accuracies(params: dict) -> dict[str, dict]:
    """`reference`: the course note's training and test accuracy of a model, where it gives them."""
    problems = Problems()
    reference = setting(params, "reference", problems) or {}
    declared_models(params, {f"reference.{key_text(name)}": name for name in reference}, problems)
    problems.raise_any()
    return reference


def study_variants(params: dict, study: str = "overfitting") -> list[str]:
    """A study's variants, in their order; the study compares every remedy with its `base`."""
    names = model_names(params, study)
    if STUDY_BASE not in names:
        raise fail(f"{study}.models", f"needs a `{STUDY_BASE}` variant to compare the remedies with")
    return names


def check_everything(params: dict) -> None:
    """Every rule of params.yaml, for every model of every study, as one error line.

    Run by every training stage before it loads any data, so that no model trains for
    minutes and is then refused by a report stage.
    """
    problems = Problems()
    rules = (seed, seeds, threads, data_settings, training_settings, gate_settings, comparisons,
             reference_accuracies, report_settings, insight_settings)  # fmt: skip
    checks = [partial(rule, params) for rule in rules] + [partial(study_variants, params, study) for study in STUDIES]
    for study in (None, *STUDIES):
        checks += [partial(model_config, params, name, study) for name in model_names(params, study)]
    for check in checks:
        try:
            check()
        except PipelineError as error:
            if str(error).removeprefix(f"{PARAMS_FILE}: ") not in problems.found:
                problems.add_error(error)
    problems.raise_any()
