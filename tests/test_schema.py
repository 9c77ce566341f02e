"""The schema in pipeline/configuration/params.py is the one place that says what params.yaml may hold.

params.yaml's table of layer types and README.md's lists say it again for readers: these tests
parse those texts and fail where they differ from the schema, and each check is shown to fail
on a deliberately wrong text.
"""

import re
from dataclasses import dataclass, fields

import pytest
import yaml

from pipeline.architecture.arguments import REQUIRED, Argument, keys_of, param
from pipeline.architecture.layers import LAYER_TYPES
from pipeline.configuration.params import (
    SCHEMA,
    TRAINING,
    DataSettings,
    GateSettings,
    InsightSettings,
    ModelConfig,
    ReportSettings,
    TrainingSettings,
    checked_setting,
    load_params,
)
from tests.conftest import REPO, documentation

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
SETTINGS_LIST = "Training settings a block may override:"


def layer_table(text: str) -> dict[str, list[tuple[str, str | None]]]:
    """params.yaml's comment table: layer type -> (argument, its bracket's text or None), in order.

    The table is the `#   <type>  <arguments>` lines; a `}` starts a side note, not an argument.
    """
    table = {}
    for kind, listed in re.findall(r"^#   (\w+)(?: +([^}\n]*?))?\s*(?:}.*)?$", text, flags=re.MULTILINE):
        arguments = re.findall(r"(\w+)(?: \(([^)]*)\))?(?:,|$)", listed or "")
        table[kind] = [(name, bracket or None) for name, bracket in arguments]
    return table


def bracket_problem(argument: Argument, bracket: str | None, arguments: dict[str, Argument]) -> str | None:
    """What a bracket after an argument's name gets wrong about its default, or None.

    `(3)` is the default; `(valid|same)` all the choices, the default first; `(= pool)` a default
    that is another argument's value; words with spaces describe a required argument.
    """
    default = argument.default
    if bracket is None:
        return None if default is REQUIRED else f"has the default {default!r}, not shown"
    if bracket.startswith("= "):
        other = bracket.removeprefix("= ")
        derived = callable(default) and other in arguments and default({other: "value"}) == "value"
        return None if derived else f"({bracket}), but its default is not the value of {other}"
    if " " in bracket:
        return None if default is REQUIRED else f"({bracket}) shows no default, but it has {default!r}"
    shown = [yaml.safe_load(choice) for choice in bracket.split("|")]
    if default is REQUIRED or callable(default) or shown[0] != default:
        return f"({bracket}), but its default is {'none' if default is REQUIRED else repr(default)}"
    choices = getattr(argument.check, "choices", None)
    if len(shown) > 1 and list(shown) != list(choices or ()):
        return f"({bracket}), but its choices are {'|'.join(choices or ('any value',))}"
    return None


def layer_table_problems(text: str) -> list[str]:
    """Where params.yaml's layer table differs from LAYER_TYPES: types, arguments in order, defaults."""
    table = layer_table(text)
    if list(table) != list(LAYER_TYPES):
        return [f"layer types {list(table)}, expected {list(LAYER_TYPES)}"]
    problems = []
    for kind, listed in table.items():
        arguments = LAYER_TYPES[kind].arguments
        if [name for name, _ in listed] != list(arguments):
            problems.append(f"{kind}: arguments {[name for name, _ in listed]}, expected {list(arguments)}")
            continue
        for name, bracket in listed:
            problem = bracket_problem(arguments[name], bracket, arguments)
            if problem:
                problems.append(f"{kind} {name}: {problem}")
    return problems


def sentence_after(text: str, start: str) -> str:
    """The text after `start` up to the first full stop outside brackets."""
    text, depth = text.split(start, 1)[1], 0
    for index, character in enumerate(text):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == "." and depth == 0:
            return text[:index]
    return text


def readme_problems(text: str) -> list[str]:
    """Where README.md's layer types and training settings differ from the schema."""
    problems, text = [], " ".join(text.split())
    if "Layer types:" not in text or SETTINGS_LIST not in text:
        return ["README.md has no `Layer types:` or no training settings list"]
    listed = re.findall(r"`(\w+)`(?: \(([^)]*)\))?", sentence_after(text, "Layer types:"))
    types = {kind: [name.strip() for name in names.split(",") if name.strip()] for kind, names in listed}
    expected = {kind: list(layer.arguments) for kind, layer in LAYER_TYPES.items()}
    if types != expected:
        problems.append(f"layer types {types}, expected {expected}")
    settings = re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", sentence_after(text, SETTINGS_LIST)))
    if settings != [*TRAINING, "head"]:
        problems.append(f"training settings {settings}, expected {[*TRAINING, 'head']}")
    return problems


def test_params_yaml_shows_every_layer_type_with_its_arguments_and_defaults():
    assert layer_table_problems((REPO / "params.yaml").read_text()) == []


def test_readme_lists_every_layer_type_and_training_setting():
    assert readme_problems(documentation()) == []


TABLE = """\
#   conv     filters, kernel (3), strides (1), padding (valid|same), activation (relu), l1 (0), l2 (0)
#   maxpool  pool (2), strides (= pool), padding (valid|same)
#   flatten
#   dense    units, activation (linear), l1 (0), l2 (0)
#   dropout  rate
#   random_shift  factor (a fraction of the image)   } data augmentation, active
#   random_flip   mode (horizontal)                  } only while training
#   random_zoom   factor                             }
"""


def test_the_layer_table_checker_accepts_a_table_that_agrees():
    assert layer_table_problems(TABLE) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("kernel (3)", "kernel (5)", "conv kernel: (5), but its default is 3"),
        ("filters, kernel", "kernel, filters", "conv: arguments ['kernel', 'filters', "),
        (", l2 (0)\n#   maxpool", "\n#   maxpool", "conv: arguments"),
        ("units, activation (linear)", "units, activation", "dense activation: has the default 'linear', not shown"),
        ("rate", "rate (0.5)", "dropout rate: (0.5), but its default is none"),
        ("strides (= pool)", "strides (= kernel)", "maxpool strides: (= kernel), but its default is not the value"),
        ("strides (1)", "strides (= filters)", "conv strides: (= filters), but its default is not the value"),
        ("(valid|same), activation", "(same|valid), activation", "conv padding: (same|valid), but its default is"),
        ("(valid|same), a", "(valid|same|full), a", "conv padding: (valid|same|full), but its choices are valid|same"),
        ("mode (horizontal)", "mode (a side)", "random_flip mode: (a side) shows no default"),
        ("#   flatten\n", "", "layer types ['conv', 'maxpool', 'dense'"),
        ("#   dropout  rate\n", "#   dropout  rate\n#   noise    stddev\n", "layer types"),
    ],
)
def test_the_layer_table_checker_finds_each_kind_of_mistake(old, new, problem):
    assert old in TABLE
    problems = layer_table_problems(TABLE.replace(old, new, 1))
    assert any(found.startswith(problem) for found in problems), problems


README = """Layer types: `conv` (filters, kernel, strides, padding, activation, l1, l2), `maxpool`
(pool, strides, padding), `flatten`, `dense` (units, activation, l1, l2), `dropout`
(rate), and the augmentations `random_shift` (factor), `random_flip` (mode) and
`random_zoom` (factor), which act only while training. Training settings a block may
override: `optimizer`, `learning_rate`, `batch_size`, `epochs`, `stop_at_accuracy` (the
source's callback), `early_stopping_patience` (stop when the validation loss has not
improved for that many epochs, keeping the best epoch's weights), `train_fraction` (a
stratified share of the training images), `head`. Every declaration is checked."""


def test_the_readme_checker_accepts_lists_that_agree():
    assert readme_problems(README) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("`dense` (units, activation, l1, l2)", "`dense` (units, activation)", "layer types"),
        ("(pool, strides, padding)", "(strides, pool, padding)", "layer types"),
        (" and\n`random_zoom` (factor)", "", "layer types"),
        ("`epochs`, ", "", "training settings ["),
        ("`batch_size`, `epochs`", "`epochs`, `batch_size`", "training settings ["),
        (", `head`.", ".", "training settings ["),
        ("`head`.", "`head`, `seed`.", "training settings ["),
        ("Training settings a block may\noverride:", "Settings:", "README.md has no"),
    ],
)
def test_the_readme_checker_finds_each_kind_of_mistake(old, new, problem):
    assert old in README
    problems = readme_problems(README.replace(old, new, 1))
    assert any(found.startswith(problem) for found in problems), problems


def test_the_schema_declares_every_section_of_params_yaml():
    assert set(SCHEMA) == set(PARAMS)


@pytest.mark.parametrize(
    ("view", "section"),
    [
        (DataSettings, "data"),
        (ReportSettings, "report"),
        (InsightSettings, "insight"),
        (TrainingSettings, "training"),
        (GateSettings, "gates"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_each_typed_view_is_its_section_of_the_schema_and_holds_the_checked_values(view, section):
    """The schema's section is read off the view (one declaration per key), and the view holds what
    checking the real params.yaml gives, nested sections flattened (`fast_precision`)."""
    assert SCHEMA[section].items == keys_of(view)
    checked = checked_setting(load_params(), section)
    flat = set()
    for key, value in checked.items():
        flat |= {f"{key}_{inner}" for inner in value} if isinstance(value, dict) else {key}
    assert {item.name for item in fields(view)} == flat


def test_keys_of_reads_nested_sections_and_skips_fields_that_are_not_keys():
    @dataclass(frozen=True)
    class View:
        name: str
        size: int = param(Argument(int, 3))
        fast_rate: float = param(Argument(float), section="fast")
        fast_steps: int = param(Argument(int), section="fast")

    keys = keys_of(View)
    assert list(keys) == ["size", "fast"]
    assert keys["size"].default == 3
    assert list(keys["fast"].items) == ["rate", "steps"]
    assert keys["fast"].kind is dict and keys["fast"].default is REQUIRED


def test_a_model_config_carries_the_training_keys_in_the_order_of_the_schema():
    assert [field.name for field in fields(ModelConfig)] == ["name", "layers", *TRAINING, "head_size"]
    assert list(SCHEMA["defaults"].items) == ["layers", "head", *TRAINING]


def comment_of(text: str, key: str) -> str:
    """A key's line in params.yaml and the comment lines under it (deeper or aligned `#` lines)."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if re.match(rf"\s*{key}:", line))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not re.match(r"\s+#", line):
            break
        block.append(line)
    return "\n".join(block)


def choice_problems(text: str) -> list[str]:
    """Every choice of a setting with a fixed set of values that its params.yaml comment leaves out."""
    settings = {"optimizer": TRAINING["optimizer"], **SCHEMA["training"].items}
    settings |= {f"fast.{key}": argument for key, argument in SCHEMA["training"].items["fast"].items.items()}
    problems = []
    for key, argument in settings.items():
        choices = getattr(argument.check, "choices", None)
        if choices:
            described = comment_of(text, key.split(".")[-1])
            problems += [f"{key}: {choice} not mentioned" for choice in choices
                         if not re.search(rf"\b{re.escape(choice)}\b", described)]  # fmt: skip
    return problems


def test_params_yaml_comments_name_every_choice_of_a_setting():
    """`optimizer`, `training.profile`, `strategy` and `fast.precision`: a reader sees every accepted value."""
    assert choice_problems((REPO / "params.yaml").read_text()) == []


def test_the_choice_checker_finds_a_choice_the_comment_leaves_out():
    text = (REPO / "params.yaml").read_text().replace("multi_worker: MultiWorkerMirroredStrategy", "cluster:")
    assert choice_problems(text) == ["strategy: multi_worker not mentioned"]
