"""Stage `front_page`: reports/README.md, the one page that shows every result.

It stitches together what the other stages made: the comparison table, the overfitting
study (reports/overfitting.md, included as it is), the convolution explainer, the
output-size formula with a worked example, and per model its shape table, figures and
most frequent confusion, each figure with a sentence on what to look for.
All links are relative to reports/, so the page reads on a repository host as it is.
"""

import argparse
import re
from pathlib import Path

import pandas as pd

from pipeline.errors import PipelineError, run
from pipeline.params import load_params, model_names, report_settings, seeds


def read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise PipelineError(f"{path}: cannot read ({error.strerror}); run `dvc repro`") from None


def comparison_section(models_page: str) -> str:
    """The body of models.md under a second-level heading (its own headings one level down)."""
    body = models_page.split("\n", 1)[1]
    return "## Results\n" + body.replace("\n## ", "\n### ")


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
    wrong = counts[(counts["model"] == name) & (counts["actual"] != counts["predicted"])]
    if wrong.empty or wrong["count"].max() == 0:
        return "It classifies every test image correctly."
    top = wrong.loc[wrong["count"].idxmax()]
    return f"Its most frequent mistake: {top['count']} {top['actual']} images taken for {top['predicted']}."


def anchor(heading: str, seen: dict[str, int]) -> str:
    """The anchor a repository host gives a heading: lower case, punctuation dropped, dashes."""
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    seen[slug] = seen.get(slug, -1) + 1
    return slug if seen[slug] == 0 else f"{slug}-{seen[slug]}"


def table_of_contents(page: str) -> str:
    """Links to the page's second- and third-level headings, indented by level."""
    seen: dict[str, int] = {}
    lines = ["## Contents", ""]
    for match in re.finditer(r"^(##+) (.+)$", page, flags=re.MULTILINE):
        level, title = len(match[1]), match[2]
        if level <= 3:
            lines.append(f"{'  ' * (level - 2)}- [{title}](#{anchor(title, seen)})")
    return "\n".join([*lines, ""])


def is_convolutional(reports: Path, name: str) -> bool:
    return "Conv2D" in read(reports / "shapes" / f"{name}.csv")


def model_section(reports: Path, name: str, channel: int, counts: pd.DataFrame) -> str:
    lines = [f"### `{name}`", "", read(reports / "shapes" / f"{name}.md").split("\n", 2)[2]]
    if is_convolutional(reports, name):
        lines += [
            f"![{name}: feature map {channel} of each convolution and pooling](figures/{name}/activations.png)",
            "",
            f"Feature map {channel} of every convolution and pooling layer for the chosen test images",
            "(`report.activation_images`), at each layer's own resolution (the table above gives the sides):",
            "each pooling keeps the strongest response of every 2x2 block.",
            "",
            f"![{name}: every feature map of the first convolution](figures/{name}/first_conv_channels.png)",
            "",
            "Every feature map of the first convolution for the first chosen image, one per filter: a map",
            "that stays black is a filter that does not fire on this image.",
            "",
            f"![{name}: learned kernels of the first convolution](figures/{name}/first_conv_kernels.png)",
            "",
            "The first convolution's learned kernels, the weights each filter multiplies the pixels with,",
            "each on its own colour scale: compare them with the hand-made edge filters above.",
            "",
        ]
    lines += [
        f"![{name}: confusion matrix](figures/{name}/confusion.png)",
        "",
        f"{top_confusion(counts, name)} Off-diagonal cells are errors.",
        "",
        f"![{name}: misclassified test images](figures/{name}/misclassified.png)",
        "",
        "The first test images the model got wrong (`report.misclassified_shown`), with the true and the",
        "predicted class.",
        "",
    ]
    return "\n".join(lines)


def front_page(reports: Path, names: list[str], channel: int, shown_seed: int) -> str:
    """The page; its links are relative to `reports`, where it goes."""
    counts = pd.read_csv(reports / "confusion.csv")
    example = (
        "cnn_64" if "cnn_64" in names else next((name for name in names if is_convolutional(reports, name)), names[0])
    )
    introduction = [
        "# What convolutions and pooling do for Fashion-MNIST",
        "",
        "Every figure and table on this page is made by `dvc repro` from `params.yaml` (see the",
        "[project README](../README.md)). Models are compared with the course note they reproduce,",
        "then each is shown layer by layer: the shapes its layers produce, what its feature maps",
        "look like, and what it gets wrong.",
        "",
    ]
    sections = [
        comparison_section(read(reports / "models.md")),
        read(reports / "overfitting.md"),
        "## Convolution and pooling, by hand",
        "",
        "![The course's 3x3 filters on test images, then 2x2 max pooling](figures/convolution_explained.png)",
        "",
        "A convolution slides a small filter over the image and sums the products: `[[-1,0,1],[-2,0,2],[-1,0,1]]`",
        "lights up where brightness changes from left to right, along vertical edges, and",
        "`[[-1,-2,-1],[0,0,0],[1,2,1]]` where it changes from top to bottom, along horizontal edges. Max",
        "pooling then keeps the strongest response in each 2x2 block: a quarter of the pixels, the",
        "same features. A convolutional layer learns dozens of such filters instead of using",
        "hand-made ones.",
        "",
        worked_example(example, pd.read_csv(reports / "shapes" / f"{example}.csv", dtype=str, keep_default_na=False)),
        "## Model by model",
        "",
        f"Each model as trained with the first seed ({shown_seed}): its figures and its mistakes.",
        "",
        *(model_section(reports, name, channel, counts) for name in names),
        "## Raw figures",
        "",
        "[`metrics/`](metrics/) test metrics per model over its seeds (JSON) · [`seeds/`](seeds/) a row",
        "per seed (CSV) · [`statistics.csv`](statistics.csv) every figure's spread ·",
        "[`comparisons.csv`](comparisons.csv) the comparisons · [`history/`](history/) per-epoch",
        "training curves (CSV) · [`confusion.csv`](confusion.csv) confusion counts ·",
        "[`curves.csv`](curves.csv) all curves ·",
        "[`shapes/`](shapes/) shape tables (CSV and Markdown) · [`data.json`](data.json) data summary",
        "· [`models.md`](models.md) the comparison table alone · [`overfitting/`](overfitting/) the",
        "overfitting study's histories, test metrics and curves.",
        "",
    ]
    body = "\n".join(sections)
    return "\n".join([*introduction, table_of_contents(body), body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reports-dir", type=Path, default=Path("reports"), help="where the pages, tables and figures are"
    )
    parser.add_argument("--out", type=Path, required=True, help="the front page (Markdown), in the reports directory")
    args = parser.parse_args()
    params = load_params()
    page = front_page(
        args.reports_dir, model_names(params), report_settings(params).activation_channel, seeds(params)[0]
    )
    args.out.write_text(page)


if __name__ == "__main__":
    run(main)
