"""Reports: the NumPy convolution against TensorFlow's, shape tables, figures, the front page's links."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import yaml

from pipeline.analysis.results import read_seeds
from pipeline.architecture.convolution import COURSE_FILTERS, convolve, max_pool
from pipeline.architecture.layers import LAYER_TYPES
from pipeline.architecture.shapes import padding_amount, parameter_count
from pipeline.configuration.params import feature_channels, model_config, model_names
from pipeline.files.paths import declared_path
from pipeline.reporting.plotting import plt, save
from pipeline.training.models import build_model
from stages.compare import (
    below_course,
    comparisons_figure,
    epochs_run,
    headline,
    model_comparisons,
    most_confused,
    results_figure,
    summary,
    training,
)
from stages.figures import activation_grid, feature_layers
from stages.front_page import example_model, garment_sentence, garment_share, mistake_text, top_confusion
from stages.shapes import shape_table
from tests.conftest import REPO, run_module

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("size", [(28, 28), (13, 11), (5, 5)])
def test_numpy_convolution_matches_tensorflow(size):
    rng = np.random.default_rng(0)
    image = rng.random(size, dtype=np.float32)
    for kernel in [*COURSE_FILTERS.values(), rng.normal(size=(3, 3)).astype(np.float32)]:
        expected = tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], strides=1, padding="VALID")
        np.testing.assert_allclose(convolve(image, kernel), expected[0, :, :, 0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(26, 26), (13, 13), (11, 7)])
def test_numpy_max_pooling_matches_tensorflow(size):
    image = np.random.default_rng(1).random(size, dtype=np.float32)
    expected = tf.nn.max_pool2d(image[None, :, :, None], ksize=2, strides=2, padding="VALID")
    np.testing.assert_array_equal(max_pool(image), expected[0, :, :, 0])
    assert max_pool(image).shape == (size[0] // 2, size[1] // 2)


def test_course_filters_respond_to_the_edge_direction_they_are_named_for():
    vertical_edge = np.zeros((9, 9), np.float32)
    vertical_edge[:, 5:] = 1  # dark left half, bright right half
    horizontal_edge = vertical_edge.T.copy()
    for image, responds, ignores in [
        (vertical_edge, "vertical edges", "horizontal edges"),
        (horizontal_edge, "horizontal edges", "vertical edges"),
    ]:
        assert np.abs(convolve(image, COURSE_FILTERS[responds])).max() == 4
        assert np.abs(convolve(image, COURSE_FILTERS[ignores])).max() == 0


def test_parameter_formulas_match_keras_for_conv_and_dense():
    for name in model_names(PARAMS):
        table = shape_table(model_config(PARAMS, name))
        assert table["agree"].all(), table[["layer", "output", "output (Keras)", "parameters", "parameters (Keras)"]]


def test_shape_table_of_a_strided_same_padded_model():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["models"]["odd"] = {"layers": {
        "conv_1": {"type": "conv", "filters": 4, "kernel": 5, "strides": 2, "padding": "same"},
        "pool_1": {"type": "maxpool", "pool": 3, "strides": 2},
        "flatten": {"type": "flatten"},
    }}  # fmt: skip
    table = shape_table(model_config(params, "odd"))
    assert table["agree"].all()
    assert table["output"].tolist()[:2] == ["14x14x4", "6x6x4"]
    assert table["output size arithmetic"][0] == "⌊(28 − 5 + 3) / 2⌋ + 1 = 14"
    assert table["parameters"][0] == (5 * 5 * 1 + 1) * 4


ONE_SEED = pd.DataFrame([{"seed": 0, "test_accuracy": 0.5, "train_accuracy": 0.5, "val_accuracy": 0.5, "epochs": 5}])
EVERY_LAYER_TYPE = {
    "random_shift": {"type": "random_shift", "factor": 0.1},
    "random_flip": {"type": "random_flip"},
    "random_zoom": {"type": "random_zoom", "factor": 0.1},
    "conv_1": {"type": "conv", "filters": 4},
    "pool_1": {"type": "maxpool"},
    "flatten": {"type": "flatten"},
    "dropout_1": {"type": "dropout", "rate": 0.2},
}


def test_a_top_level_model_with_every_layer_type_builds_and_is_reported():
    assert {layer["type"] for layer in EVERY_LAYER_TYPE.values()} | {"dense"} == set(LAYER_TYPES)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["models"], params["reference"] = {"every": {"layers": EVERY_LAYER_TYPE}}, {}
    config = model_config(params, "every")
    table = shape_table(config)
    assert table["agree"].all() and table["layer"].tolist()[:4] == [
        "random_shift",
        "random_flip",
        "random_zoom",
        "conv_1",
    ]
    row = training(params, {"every": ONE_SEED}).iloc[0]
    assert row["layers before the head"] == "Shift-Flip-Zoom-Conv4-Pool-Dropout0.2"


def test_padding_amount():
    assert padding_amount(28, 3, 1, "valid") == 0
    assert padding_amount(28, 3, 1, "same") == 2
    assert padding_amount(28, 5, 2, "same") == 3
    assert parameter_count({"type": "maxpool"}, (26, 26, 64)) == 0


def test_layer_selection_works_for_a_one_conv_model():
    model = build_model(model_config(PARAMS, "cnn_64_1conv"))
    assert [layer.name for layer in feature_layers(model)] == ["conv_1", "pool_1"]
    assert feature_layers(build_model(model_config(PARAMS, "dnn"))) == []
    images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    figure = activation_grid(model, images, [5, 7], np.array([0, 1]), np.array([0, 2]), channel=3)
    assert len(figure.axes) == 2 * 3  # two images, the input plus two layers each
    assert figure.axes[1].get_title() == "conv_1\n26x26" and figure.axes[2].get_title() == "pool_1\n13x13"
    plt.close(figure)


def test_png_output_is_byte_for_byte_reproducible(tmp_path):
    paths = []
    for attempt in range(2):
        figure, axis = plt.subplots()
        axis.imshow(np.arange(64).reshape(8, 8), cmap="inferno")
        axis.set_title("same inputs")
        paths.append(tmp_path / f"{attempt}.png")
        save(figure, paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert b"Software" not in paths[0].read_bytes()


def test_figures_stage_rejects_a_channel_the_model_does_not_have(workdir):
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["report"]["activation_channel"] = 20
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dirs = ("--data", "d", "--models-dir", "m", "--predictions-dir", "p", "--out-dir", "figures")
    result = run_module("stages.figures", "cnn_16", *dirs, cwd=workdir)
    assert result.returncode == 1
    assert "error: params.yaml: report.activation_channel: 20 is not a channel of models.cnn_16" in result.stderr
    assert "Traceback" not in result.stderr


# The one DVC-cached output the pages link to: not in git, so absent from a clone until `dvc repro`
# (or `dvc pull`) makes it, as the pages say.
NOT_IN_GIT = (REPO / declared_path("reports.explorer", REPO / "dvc.yaml")).resolve()


def broken_links(page: Path) -> list[str]:
    """Relative links and images of a Markdown page that point at nothing (or, into NOT_IN_GIT, at
    nothing yet)."""
    targets = [target for target in LINK.findall(page.read_text()) if "://" not in target]
    found = [(target, (page.parent / target.split("#")[0]).resolve()) for target in targets]
    return [target for target, path in found if not path.exists() and not path.is_relative_to(NOT_IN_GIT)]


def test_committed_pages_have_no_broken_link():
    page = REPO / "reports" / "README.md"
    for markdown in (page, REPO / "reports" / "models.md", REPO / "README.md", *(REPO / "docs").glob("*.md")):
        assert broken_links(markdown) == [], markdown
    text = page.read_text()
    for name in model_names(PARAMS):
        assert f"figures/{name}/confusion.png" in text and f"### `{name}`" in text
    assert "figures/convolution_explained.png" in text and "28 → 26 → 13 → 11 → 5" in text


def test_broken_links_are_found(tmp_path):
    (tmp_path / "here.png").write_bytes(b"")
    page = tmp_path / "README.md"
    page.write_text("![a](here.png) [b](missing/) ![c](gone.png) [d](https://example.com)")
    assert broken_links(page) == ["missing/", "gone.png"]


def test_the_channel_check_counts_a_pooling_before_the_first_convolution():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["models"] = {"pooled": {"layers": {
        "pool_1": {"type": "maxpool"}, "conv_1": {"type": "conv", "filters": 8}, "flatten": {"type": "flatten"},
    }}}  # fmt: skip
    assert feature_channels(model_config(params, "pooled")) == [1, 8]


def test_a_model_whose_layers_come_from_defaults_is_described():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["defaults"]["layers"] = {"flatten": {"type": "flatten"}}
    params["models"] = {"plain": {}}
    params["reference"] = {}
    assert training(params, {"plain": ONE_SEED}).iloc[0]["layers before the head"] == "Flatten"


def seed_table(test_accuracies: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"seed": range(len(test_accuracies)), "test_accuracy": test_accuracies,
                         "train_accuracy": 0.9, "val_accuracy": 0.9, "epochs": 5})  # fmt: skip


def test_comparisons_and_the_summary_follow_the_seeds():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["models"] = {name: params["models"][name] for name in ("dnn", "cnn_32", "cnn_16")}
    params["comparisons"] = {"cnn_32": ["dnn"], "cnn_16": ["cnn_32"]}
    params["reference"] = {name: params["reference"][name] for name in params["models"]}
    per_seed = {
        "dnn": seed_table([0.860, 0.866, 0.869]),
        "cnn_32": seed_table([0.900, 0.905, 0.911]),
        "cnn_16": seed_table([0.899, 0.907, 0.907]),
    }
    correct = {name: [np.ones(10, bool)] * 3 for name in per_seed}
    compared = model_comparisons(params, per_seed, correct)
    assert compared["verdict"].tolist() == [
        "better by 4.0 points (95% CI +3.7 to +4.4)",
        "no difference detectable with 3 seeds",
    ]
    metrics = {name: {"params": 101_770} for name in per_seed}
    text = summary(params, per_seed, metrics, compared)
    row = "| `dnn`    |      101,770 | 0.8650 ± 0.0046 | 0.8536 to 0.8764 |        0.8809 |                 no |"
    assert row in text
    assert "- `cnn_16` against `cnn_32`: no difference detectable with 3 seeds." in text
    below = below_course(params, per_seed, margin=0.015)
    assert below == ["- `dnn`: mean test accuracy 0.8650 (95% CI 0.8536 to 0.8764) is 1.6 points below the"
                     " course's 0.8809."]  # fmt: skip


def test_the_front_page_names_the_mistake_the_confusion_counts_show():
    counts = pd.DataFrame(
        [("cnn", "Shirt", "T-shirt/top", 5), ("cnn", "Coat", "Pullover", 9), ("cnn", "Coat", "Coat", 900),
         ("dnn", "Shirt", "T-shirt/top", 0), ("dnn", "Shirt", "Shirt", 10)],
        columns=["model", "actual", "predicted", "count"],
    )  # fmt: skip
    assert top_confusion(counts, "cnn") == "Its most frequent mistake: 9 Coat images taken for Pullover."
    assert top_confusion(counts, "dnn") == "It classifies every test image correctly."


@pytest.mark.parametrize(("pairs", "expected"), [
    ({("Shirt", "T-shirt/top"): 50, ("Coat", "Pullover"): 30, ("Bag", "Sandal"): 1},
     "Shirt taken for T-shirt/top (100); Coat taken for Pullover (60); Bag taken for Sandal (2)."),
    ({("Sneaker", "Sandal"): 70, ("Trouser", "Dress"): 80},
     "Trouser taken for Dress (160); Sneaker taken for Sandal (140)."),
])  # fmt: skip
def test_the_comparison_page_names_the_mistakes_the_confusion_counts_show(pairs, expected):
    rows = [(model, seed, actual, predicted, count) for model in ("a", "b") for seed in (0,)
            for (actual, predicted), count in pairs.items()]  # fmt: skip
    counts = pd.DataFrame(rows, columns=["model", "seed", "actual", "predicted", "count"])
    text = most_confused(counts)
    assert text == f"The most frequent mistakes, summed over the 2 models and 1 seed(s): {expected}"


def test_the_front_page_works_the_formula_through_the_explained_model(tmp_path):
    """`insight.every_layer_of` picks the worked example; no model name is written into the page's code."""
    for name, kind in (("dense", "Dense"), ("small", "Conv2D"), ("wide", "Conv2D")):
        pd.DataFrame({"layer": ["layer_1"], "type": [kind]}).to_csv(tmp_path / f"{name}.csv", index=False)
    names = ["dense", "small", "wide"]
    assert example_model(tmp_path, names, "wide") == "wide"
    assert example_model(tmp_path, names, "dense") == "small"
    assert example_model(tmp_path, ["dense"], "dense") == "dense"


def test_the_headline_table_keeps_what_a_reader_compares_first():
    """Train and validation accuracy, layers and epochs are in the second table, so the first fits a page."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    per_seed = {"dnn": seed_table([0.860, 0.866, 0.869]), "cnn_32_stop90": seed_table([0.88, 0.89, 0.90])}
    per_seed["cnn_32_stop90"]["epochs"] = 4
    table = headline(params, per_seed, {"dnn": {"params": 101_770}, "cnn_32_stop90": {"params": 113_386}})
    assert list(table.columns) == ["model", "parameters", "test accuracy", "95% CI", "course note", "course inside CI"]
    assert table.iloc[0].tolist() == ["`dnn`", "101,770", "0.8650 ± 0.0046", "0.8536 to 0.8764", "0.8809", "no"]
    assert table.iloc[1]["course note"] == "—"
    trained = training(params, per_seed)
    assert list(trained.columns) == ["model", "layers before the head", "train acc", "val acc", "course train"]
    stopped = "Every model ran its declared epochs except `cnn_32_stop90` (stopped after 4 of 10)."
    assert epochs_run(params, per_seed) == stopped


def plotted_rows(axis: plt.Axes) -> dict[str, dict]:
    """What a figure of interval rows shows, per row label: its seeds' dots, its centre, its interval and
    any other marker on the row, read back from the drawn artists."""
    ticks = axis.yaxis.get_major_ticks()  # a shared axis hides its labels; the ticks keep them
    rows = {tick.label1.get_text(): y for tick, y in zip(ticks, axis.get_yticks(), strict=True)}
    shown = {name: {"seeds": [], "markers": []} for name in rows}
    at = {position: name for name, position in rows.items()}
    for collection in axis.collections:
        for x, y in collection.get_offsets() if collection.get_label() != "_nolegend_" else []:
            key = "seeds" if collection.get_label() == "each seed" else "markers"
            shown[at[y]][key].append(round(float(x), 4))
    for container in axis.containers:
        centres, bars = container.lines[0], container.lines[2][0]
        for x, y, segment in zip(centres.get_xdata(), centres.get_ydata(), bars.get_segments(), strict=True):
            ends = tuple(round(float(end), 4) for end in segment[:, 0])
            shown[at[y]] |= {"centre": round(float(x), 4), "interval": ends, "kind": container.get_label()}
    return {name: shown[name] for name in sorted(rows, key=lambda name: -rows[name])}


def test_the_results_figure_follows_the_per_seed_tables(tmp_path):
    """The figure is drawn from the same per-seed CSVs as the headline table: change one, and it follows."""
    figures = []
    for dnn in ([0.860, 0.866, 0.869], [0.950, 0.955, 0.960]):
        for name, values in (("dnn", dnn), ("cnn_32", [0.900, 0.905, 0.911])):
            seed_table(values).to_csv(tmp_path / f"{name}.csv", index=False)
        per_seed = {name: read_seeds(tmp_path / f"{name}.csv") for name in ("dnn", "cnn_32")}
        figure = results_figure(per_seed, {"dnn": 0.8809, "cnn_32": None})
        figures.append(plotted_rows(figure.axes[0]))
        assert "3 seeds" in figure.axes[0].get_title() and figure.axes[0].get_xlabel() == "test accuracy"
        plt.close(figure)
    before, after = figures
    assert list(before) == ["cnn_32", "dnn"] and list(after) == ["dnn", "cnn_32"], "the best model on top"
    assert before["dnn"]["seeds"] == [0.860, 0.866, 0.869] and after["dnn"]["seeds"] == [0.950, 0.955, 0.960]
    assert before["dnn"]["centre"] == 0.865 and after["dnn"]["centre"] == 0.955
    assert before["dnn"]["interval"] == (0.8536, 0.8764)
    assert before["dnn"]["markers"] == after["dnn"]["markers"] == [0.8809] and after["cnn_32"]["markers"] == []


def test_the_forest_plot_follows_the_comparisons_table(tmp_path):
    """The forest plot is drawn from comparisons.csv: change a row, and its bar and verdict follow."""
    table = pd.DataFrame({"model": ["cnn_32", "cnn_16"], "against": ["dnn", "cnn_64"], "difference": [0.031, -0.005],
                          "ci_low": [0.018, -0.018], "ci_high": [0.043, 0.008], "paired": True,
                          "verdict": ["better by 3.1 points (95% CI +1.8 to +4.3)",
                                      "no difference detectable with 3 seeds"], "mcnemar_p": "<0.001"})  # fmt: skip
    figures = []
    for edit in ({}, {"difference": -0.015, "ci_low": -0.017, "ci_high": -0.012, "verdict": "worse by 1.5 points"}):
        path = tmp_path / "comparisons.csv"
        table.assign(**{column: [table[column][0], value] for column, value in edit.items()}).to_csv(path, index=False)
        figure = comparisons_figure(pd.read_csv(path), 3)
        axis = figure.axes[0]
        figures.append((plotted_rows(axis), [text.get_text() for text in axis.texts]))
        assert "3 seeds" in axis.get_title() and "difference of mean test accuracy" in axis.get_xlabel()
        assert any(list(line.get_xdata()) == [0, 0] for line in axis.lines), "a line at zero"
        plt.close(figure)
    (before, words), (after, edited_words) = figures
    assert list(before) == ["cnn_32 − dnn", "cnn_16 − cnn_64"]
    assert before["cnn_32 − dnn"] | {"seeds": []} == {"seeds": [], "markers": [], "centre": 3.1, "interval": (1.8, 4.3),
                                                       "kind": "better"}  # fmt: skip
    undecided, worse = before["cnn_16 − cnn_64"], after["cnn_16 − cnn_64"]
    assert (undecided["centre"], undecided["kind"]) == (-0.5, "no difference detectable")
    assert (worse["interval"], worse["kind"]) == ((-1.7, -1.2), "worse")
    assert words == ["better", "no difference detectable"] and edited_words == ["better", "worse"]


def gradcam_rows(on_garment: list[float | None], share: list[float]) -> pd.DataFrame:
    classes = ["T-shirt/top", "Trouser", "Pullover"][: len(on_garment)]
    return pd.DataFrame({"class": classes, "on_garment": on_garment, "garment_share_of_image": share})


def test_the_garment_sentence_names_the_top_class_and_the_classes_that_weigh_the_background():
    share = garment_share(gradcam_rows([0.6, 0.3, None], [0.4, 0.5, 0.3]))
    assert (share.measured, share.favoured, share.top["class"]) == (
        ["T-shirt/top", "Trouser"],
        ["T-shirt/top"],
        "T-shirt/top",
    )
    text = " ".join(garment_sentence("cnn_32", share))
    assert "for 1 of 2 classes (most: T-shirt/top, 60% of the weight on 40% of the pixels)" in text
    assert text.endswith("; for Trouser it weighs the background around the garment more.")


def test_the_garment_sentence_when_every_class_or_none_favours_the_garment():
    every = " ".join(garment_sentence("cnn_32", garment_share(gradcam_rows([0.6, 0.9], [0.4, 0.5]))))
    assert "for 2 of 2 classes (most: Trouser, 90%" in every and every.endswith("pixels).")
    background = garment_sentence("cnn_32", garment_share(gradcam_rows([0.1, 0.2], [0.4, 0.5])))
    assert background == ["class, `cnn_32`'s map weighs the background around the garment more, for every class."]
    nothing = garment_sentence("cnn_32", garment_share(gradcam_rows([None], [0.4])))
    assert nothing == ["class: no class has a correctly classified image with a map to average."]


def test_a_mistake_cell_says_none_when_the_model_made_none():
    row = pd.Series({"confused_count": 0, "confused_true": "Shirt", "confused_predicted": "Coat"})
    assert mistake_text(row) == "none"
    assert mistake_text(row.replace(0, 12)) == "12 Shirt taken for Coat"
