"""Stage `front_page`: <out>, the one page that shows every result.

It stitches together what the other stages made: the comparison (<models-page>, whose results
table and figure reach the first screen, the contents folded away above them), the overfitting
study (<study-page>, included as it is), the convolution explainer, a link to the explorer, the
output-size formula with a worked example, and per model its shape table, figures and
most frequent confusion, each figure with a sentence on what to look for.
Every file it reads or links comes from its command line; links are relative to the page, so
it reads on a repository host as it is.
"""

import json
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.analysis.confusion import ranked_mistakes
from pipeline.configuration.params import insight_settings, load_params, model_names, report_settings, seeds
from pipeline.errors import PipelineError, run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import named_path
from pipeline.files.outputs import (
    ACTIVATIONS,
    CAM_ACTIVATION_IMAGES,
    CAM_CLASS_AVERAGE,
    CAM_CONFUSED,
    CONFUSION,
    FIRST_CONV_CHANNELS,
    FIRST_CONV_KERNELS,
    MISCLASSIFIED,
    PROJECTION,
    SEPARABILITY,
    SUMMARY_TABLE,
    TEMPLATES,
    TEMPLATES_SUMMARY,
    filter_grid_file,
)
from pipeline.files.paths import link, rebased
from pipeline.reporting.markdown import listing, row_table, table_of_contents


def read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise PipelineError(f"{path}: cannot read ({error.strerror}); run `dvc repro`") from None


def comparison_section(models_page: str) -> str:
    """The body of models.md under a second-level heading (its own headings one level down)."""
    body = models_page.split("\n", 1)[1]
    return "## Results\n" + body.replace("\n## ", "\n### ")


def explorer_part(explorer: Path, screenshot: Path, page: Path) -> list[str]:
    """The in-browser explorer: what it lets a reader do, and how to get it (it is not in git)."""
    index = link(explorer / "index.html", page)
    return [
        "## The networks, interactive",
        "",
        f"![The explorer: a test image through a CNN, its feature maps, one convolution cell worked out]"
        f"({link(screenshot, page)})",
        "",
        f"[`{index}`]({index}) runs the first seed of every model and study variant in the browser, from",
        "disk, with no network and no server. Pick a model and a test image (or one it gets wrong), or draw",
        "a garment and watch the probabilities change; see every layer's feature maps at their own",
        "resolution; click a convolution cell for its window, kernel, products and their sum, a pooling",
        "cell for the input that won; and see Grad-CAM for any class. Its weights are too large for git:",
        "`dvc repro explorer` (or `dvc pull`) makes the folder.",
        "",
    ]


def worked_example(name: str, shapes: pd.DataFrame) -> str:
    """28 -> 26 -> 13 -> 11 -> 5 for cnn_64: the formula applied layer by layer."""
    steps = shapes[shapes["output size arithmetic"] != ""]
    sides = [shapes["input"].iloc[0].split("x")[0], *(row.split("x")[0] for row in steps["output"])]
    lines = [f"- `{row['layer']}` ({row['window']}, stride {row['stride']}): {row['output size arithmetic']}"
             for _, row in steps.iterrows()]  # fmt: skip
    return "\n".join(
        [
            "### Output sizes",
            "",
            "A window of side *f* sliding with stride *s* over an input of side *i* padded by *p* on each",
            "side gives an output of side **O = ⌊(i − f + 2p) / s⌋ + 1**. Pooling floors odd sizes.",
            f"For `{name}`: {' → '.join(sides)}.",
            "",
            *lines,
            "",
            "A convolution has (f·f·c_in + 1)·c_out parameters (a weight per kernel cell and input",
            "channel, a bias per filter), a dense layer (n_in + 1)·n_out; pooling and flatten have none.",
            "Every table below checks both formulas against what Keras builds.",
            "",
        ]
    )


def top_confusion(counts: pd.DataFrame, name: str) -> str:
    """The model's most frequent mistake, from the confusion counts that `compare` wrote."""
    mistakes = ranked_mistakes(counts[counts["model"] == name])
    if mistakes.empty or mistakes.iloc[0] == 0:
        return "It classifies every test image correctly."
    (actual, predicted), count = next(iter(mistakes.items()))
    return f"Its most frequent mistake: {count} {actual} images taken for {predicted}."


def is_convolutional(shapes: Path, name: str) -> bool:
    return "Conv2D" in read(named_path(shapes, name, ".csv"))


def example_model(shapes: Path, names: list[str], focus: str) -> str:
    """The model the output-size formula is worked through for: the one explained layer by layer
    (`insight.every_layer_of`) when it has convolutions, else the first that has, else the first."""
    convolutional = [name for name in [focus, *names] if is_convolutional(shapes, name)]
    return convolutional[0] if convolutional else names[0]


def model_section(args: Namespace, name: str, channel: int, counts: pd.DataFrame) -> str:
    """A model's shape table and figures; `args` holds the folders and the page, from the command line."""
    figures = link(named_path(args.figures_dir, name), args.out)
    lines = [f"### `{name}`", "", read(named_path(args.shapes_dir, name, ".md")).split("\n", 2)[2]]
    if is_convolutional(args.shapes_dir, name):
        lines += [
            f"![{name}: feature map {channel} of each convolution and pooling]({figures}{ACTIVATIONS})",
            "",
            f"Feature map {channel} of every convolution and pooling layer for the chosen test images",
            "(`report.activation_images`), at each layer's own resolution (the table above gives the sides):",
            "each pooling keeps the strongest response of every 2x2 block.",
            "",
            f"![{name}: every feature map of the first convolution]({figures}{FIRST_CONV_CHANNELS})",
            "",
            "Every feature map of the first convolution for the first chosen image, one per filter: a map",
            "that stays black is a filter that does not fire on this image.",
            "",
            f"![{name}: learned kernels of the first convolution]({figures}{FIRST_CONV_KERNELS})",
            "",
            "The first convolution's learned kernels, the weights each filter multiplies the pixels with,",
            "each on its own colour scale: compare them with the hand-made edge filters above.",
            "",
        ]
    lines += [
        f"![{name}: confusion matrix]({figures}{CONFUSION})",
        "",
        f"{top_confusion(counts, name)} Off-diagonal cells are errors.",
        "",
        f"![{name}: misclassified test images]({figures}{MISCLASSIFIED})",
        "",
        "The first test images the model got wrong (`report.misclassified_shown`), with the true and the",
        "predicted class.",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class GarmentShare:
    """Of a model's classes with a class-average Grad-CAM map (`measured`), those whose map puts more
    of its weight on the garment than the garment's share of the image (`favoured`), and the row of
    the class that does so most (`top`)."""

    measured: list[str]
    favoured: list[str]
    top: pd.Series | None


def garment_share(rows: pd.DataFrame) -> GarmentShare:
    """From one model's rows of the gradcam stage's summary, one row per class."""
    measured = rows.dropna(subset=["on_garment"])
    on = measured[measured["on_garment"] > measured["garment_share_of_image"]]
    top = on.loc[(on["on_garment"] - on["garment_share_of_image"]).idxmax()] if len(on) else None
    return GarmentShare(list(measured["class"]), list(on["class"]), top)


def garment_sentence(focus: str, share: GarmentShare) -> list[str]:
    """The end of the sentence "Averaged over correctly classified test images of each class, ..."."""
    if share.top is not None:
        top, rest = share.top, sorted(set(share.measured) - set(share.favoured))
        return [
            f"class, `{focus}`'s map puts more of its weight on the garment than the garment's share of the image",
            f"for {len(share.favoured)} of {len(share.measured)} classes (most: {top['class']}, {top['on_garment']:.0%}"
            f" of the weight on {top['garment_share_of_image']:.0%} of the pixels)"
            + (f"; for {listing(rest)} it weighs the background around the garment more." if rest else "."),
        ]
    if share.measured:
        return [f"class, `{focus}`'s map weighs the background around the garment more, for every class."]
    return ["class: no class has a correctly classified image with a map to average."]


def mistake_text(row: pd.Series) -> str:
    """A model's most frequent mistake as the gradcam stage found it, for a table cell."""
    if not row["confused_count"]:
        return "none"
    return f"{row['confused_count']} {row['confused_true']} taken for {row['confused_predicted']}"


def gradcam_table(summary: pd.DataFrame, maps: str) -> str:
    """A row per CNN: its last convolution, its most frequent mistake, how many classes' maps favour the
    garment, and links to its maps."""
    rows = []
    for name, group in summary.groupby("model", sort=False):
        row, share = group.iloc[0], garment_share(group)
        mistake = f" · [mistake]({maps}{name}/{CAM_CONFUSED})" if row["confused_count"] else ""
        rows.append([
            f"`{name}`", f"`{row['layer']}`, {row['side']}x{row['side']}", mistake_text(row),
            f"{len(share.favoured)} of {len(share.measured)}",
            f"[chosen images]({maps}{name}/{CAM_ACTIVATION_IMAGES}) · [per class]({maps}{name}/{CAM_CLASS_AVERAGE})"
            + mistake,
        ])  # fmt: skip
    header = ["model", "last convolution", "most frequent mistake", "classes whose map favours the garment", "maps"]
    return row_table(header, rows)


def gradcam_part(gradcam: Path, page: Path, focus: str) -> list[str]:
    summary = pd.read_csv(gradcam / SUMMARY_TABLE)
    maps = link(gradcam, page)
    if summary.empty:
        return ["No model has a convolution, so there is no Grad-CAM map.", ""]
    if focus not in set(summary["model"]):
        focus = summary["model"].iloc[0]
    rows = summary[summary["model"] == focus]
    first = rows.iloc[0]
    lines = [
        "### Where each CNN looks: Grad-CAM",
        "",
        f"![{focus}: class-average Grad-CAM maps]({maps}{focus}/{CAM_CLASS_AVERAGE})",
        "",
        "Grad-CAM weighs each channel of the last convolution by how much it raises a class's score (its",
        "gradient, averaged over the map) and keeps the positive sum: red where the image's activations",
        f"speak for the class. The maps have the last convolution's resolution ({first['side']}x{first['side']}"
        f" for `{focus}`'s `{first['layer']}`), upsampled. Averaged over correctly classified test images of each",
        *garment_sentence(focus, garment_share(rows)),
        "",
    ]
    if first["confused_count"]:
        lines += [
            f"![{focus}: its most frequent mistake, with both classes' maps]({maps}{focus}/{CAM_CONFUSED})",
            "",
            f"Its most frequent mistake, {first['confused_true']} taken for {first['confused_predicted']}"
            f" ({first['confused_count']} test images): beside each image, where it found evidence for the class it",
            "said and where for the true one.",
            "",
        ]
    return [*lines, gradcam_table(summary, maps), ""]


def filters_part(filters: Path, page: Path, focus: str) -> list[str]:
    summary = pd.read_csv(filters / SUMMARY_TABLE)
    grids = link(filters, page)
    if summary.empty:
        return []
    lines = ["### What each filter responds to", ""]
    focus_layers = summary[summary["model"] == focus].groupby("layer", sort=False)
    counts = []
    for layer, group in focus_layers:
        lines += [f"![{focus} {layer}: top test patches per filter]({grids}{filter_grid_file(focus, layer)})", ""]
        majority = group["patches"].iloc[0] // 2 + 1
        counts.append((layer, int((group["top_class_patches"] >= majority).sum()), len(group),
                       int(group["field"].iloc[0]), majority))  # fmt: skip
    if counts:
        described = [f"{held} of {total} filters of `{layer}` ({field}x{field}-pixel patches)"
                     for layer, held, total, field, _ in counts]  # fmt: skip
        lines += [
            "Each cell holds the test patches that activate one filter most, cropped to what the filter sees.",
            f"In `{focus}`, {listing(described)} draw at least {counts[0][4]} of their"
            f" {summary['patches'].iloc[0]} patches from a single class.",
        ]
        if len(counts) > 1:
            first, last = counts[0][1] / counts[0][2], counts[-1][1] / counts[-1][2]
            comparison = "more" if last > first else "no more"
            lines.append(
                f"The deepest layer's filters, which see the largest patches, are {comparison} often"
                " specific to one class."
            )
        lines.append("")
    others = [f"[`{model}` `{layer}`]({grids}{filter_grid_file(model, layer)})"
              for (model, layer), _ in summary.groupby(["model", "layer"], sort=False) if model != focus]  # fmt: skip
    if others:
        lines += [f"The first convolution of every other CNN: {' · '.join(others)}.", ""]
    return lines


def templates_part(templates: Path, page: Path) -> list[str]:
    summary = json.loads(read(templates / TEMPLATES_SUMMARY))
    dense, conv = f"`{summary['dense_model']}`", f"`{summary['conv_model']}`"
    return [
        "### A dense layer's templates against a convolution's kernels",
        "",
        f"![{summary['dense_model']}'s first-layer units as images, beside {summary['conv_model']}'s kernels]"
        f"({link(templates / TEMPLATES, page)})",
        "",
        f"Each of {dense}'s {summary['units']} first-layer units weighs all {summary['weights_per_unit']} pixels,"
        f" each at its fixed place ({summary['dense_parameters']:,} parameters); half of a unit's squared weight lies"
        f" on a median of {summary['median_half_weight_pixels']:.0f} pixels. Each of {conv}'s {summary['kernels']}"
        f" kernels has {summary['weights_per_kernel']} weights and is applied at all"
        f" {summary['positions_per_kernel']} positions ({summary['conv_parameters']:,} parameters), so it finds its"
        f" pattern wherever it is."
        + (f" {summary['silent_units']} of {dense}'s {summary['units']} ReLU units never fire on the first"
           f" {summary['images_checked']:,} test images: they add nothing to its decisions."
           if summary["silent_units"] is not None else ""),
        "",
    ]  # fmt: skip


def feature_space_part(feature_space: Path, page: Path) -> list[str]:
    scores = pd.read_csv(feature_space / SEPARABILITY)
    ranked = scores.sort_values("knn_accuracy", ascending=False, kind="stable")
    row = scores.iloc[0]
    described = [f"{score:.1%} in " + ("the raw pixels" if space == "raw pixels" else f"`{space}`'s features")
                 for space, score in zip(ranked["space"], ranked["knn_accuracy"], strict=True)]  # fmt: skip
    return [
        "### The test set in each model's last hidden layer",
        "",
        f"![t-SNE projections of the last hidden layer, coloured by class]({link(feature_space / PROJECTION, page)})",
        "",
        f"A {row['neighbours']}-nearest-neighbour vote over the first {row['images']:,} test images (5-fold"
        f" cross-validation) is right for {listing(described)}: the higher, the better that space keeps the",
        "classes apart. The projection draws the same features in two dimensions.",
        "",
    ]


def insight_section(args: Namespace, focus: str) -> str:
    return "\n".join(
        [
            "## What the network looks at",
            "",
            "The run of each model's first seed, explained four ways (`insight` in `params.yaml`).",
            "",
            *gradcam_part(args.gradcam_dir, args.out, focus),
            *filters_part(args.filters_dir, args.out, focus),
            *templates_part(args.templates_dir, args.out),
            *feature_space_part(args.feature_space_dir, args.out),
        ]
    )


def front_page(args: Namespace, names: list[str], channel: int, shown_seed: int, focus: str) -> str:
    """The page; `focus` is the model whose every layer is explained (`insight.every_layer_of`)."""
    counts = pd.read_csv(args.confusion)
    example = example_model(args.shapes_dir, names, focus)
    shapes = pd.read_csv(named_path(args.shapes_dir, example, ".csv"), dtype=str, keep_default_na=False)
    raw = {
        args.shapes_dir: "shape tables (CSV and Markdown)",
        args.data_summary: "data summary",
        args.models_page: "the comparison table alone",
        args.study_page: "the overfitting study alone",
    }
    introduction = [
        "# What convolutions and pooling do for Fashion-MNIST",
        "",
        "Every figure and table here is made by `dvc repro` from `params.yaml`"
        f" ([project README]({link(Path('README.md'), args.out)})): the models against the course note they",
        "reproduce, then each layer by layer: the shapes it produces, its feature maps, its mistakes.",
        "",
    ]
    sections = [
        comparison_section(rebased(read(args.models_page), args.models_page, args.out)),
        rebased(read(args.study_page), args.study_page, args.out),
        "## Convolution and pooling, by hand",
        "",
        f"![The course's 3x3 filters on test images, then 2x2 max pooling]({link(args.explained, args.out)})",
        "",
        "A convolution slides a small filter over the image and sums the products: `[[-1,0,1],[-2,0,2],[-1,0,1]]`",
        "lights up where brightness changes from left to right, along vertical edges, and",
        "`[[-1,-2,-1],[0,0,0],[1,2,1]]` where it changes from top to bottom, along horizontal edges. Max",
        "pooling then keeps the strongest response in each 2x2 block: a quarter of the pixels, the",
        "same features. A convolutional layer learns dozens of such filters instead of using",
        "hand-made ones.",
        "",
        *explorer_part(args.explorer, args.explorer_screenshot, args.out),
        worked_example(example, shapes),
        insight_section(args, focus),
        "## Model by model",
        "",
        f"Each model as trained with the first seed ({shown_seed}): its figures and its mistakes.",
        "",
        *(model_section(args, name, channel, counts) for name in names),
        "## Raw figures",
        "",
        "The tables behind the results and the overfitting study are linked at the end of each. Also:",
        "",
        *(f"- [`{link(path, args.out)}`]({link(path, args.out)}): {what}" for path, what in raw.items()),
        "",
    ]
    body = "\n".join(sections)
    return "\n".join([*introduction, table_of_contents(body), body])


def main() -> None:
    args = parse_arguments(
        __doc__, "out", models_page="the comparison page", study_page="the overfitting study's page",
        shapes_dir="where <model>.md and <model>.csv, the shape tables, are",
        figures_dir="where <model>/, each model's figures, are", explained="the convolution explainer (PNG)",
        confusion="the confusion counts (CSV)", gradcam_dir="the Grad-CAM maps", filters_dir="the filter grids",
        templates_dir="the dense templates", feature_space_dir="the feature-space projection",
        data_summary="the data summary (JSON), linked",
        explorer="the explorer's folder (a DVC output), linked",
        explorer_screenshot="a picture of the explorer (PNG, written by `make bench`), linked",
    )  # fmt: skip
    params = load_params()
    page = front_page(
        args, model_names(params), report_settings(params).activation_channel, seeds(params)[0],
        insight_settings(params).every_layer_of,
    )  # fmt: skip
    args.out.write_text(page)


if __name__ == "__main__":
    run(main)
