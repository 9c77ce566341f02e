"""The explorer in Debian's Chromium: how fast it opens and runs every trained model, how close it
stays to Keras, and a picture of it for the front page."""

from pathlib import Path

from pipeline.configuration.params import insight_settings, load_params, report_settings
from pipeline.files.paths import declared_path
from pipeline.training.models import load_model
from tests.conftest import REPO, offline_browser
from tests.test_explorer import (
    CELL_TOLERANCE,
    PROBABILITY_TOLERANCE,
    TOTAL_BYTES,
    Agreement,
    Explorer,
    check_every_trained_model,
    checked_images,
    layer_outputs,
    strongest_cell,
    trained_model,
)

OPEN_SECONDS, RENDER_MS = 2.0, 100.0  # targets: open to an interactive page, a forward pass with every map drawn


def picture(explorer: Explorer, screenshot: Path) -> None:
    """The explorer as a reader first meets it: the model explained layer by layer, the first chosen
    test image, the strongest cell of its last convolution worked out."""
    params = load_params()
    name, image = insight_settings(params).every_layer_of, report_settings(params).activation_images[0]
    images, _ = checked_images(REPO)
    model = load_model(trained_model(REPO, "models", name))
    explorer.choose(f"models/{name}")
    explorer.page.locator(f'#gallery canvas[title="test #{image}"]').first.click()  # as a reader picks it
    layer = [layer.name for layer in model.layers if layer.__class__.__name__ == "Conv2D"][-1]
    (maps,) = layer_outputs(model, [layer], images[image][None])
    explorer.click_cell(layer, 0, *strongest_cell(maps[0], 0))
    explorer.page.evaluate("window.scrollTo(0, 0)")  # the click scrolled the cell into view
    explorer.page.screenshot(path=screenshot)


def measure() -> Agreement:
    folder, screenshot = declared_path("reports.explorer"), declared_path("reports.explorer_screenshot")
    if not (folder / "index.html").is_file():
        raise SystemExit(f"{folder}: missing; `dvc repro explorer` (or `dvc pull`) makes it")
    with offline_browser() as browser:
        return check_every_trained_model(browser, folder, REPO, keep=lambda explorer: picture(explorer, screenshot))


def explorer_section() -> tuple[list[str], list[bool]]:
    agreement = measure()
    render = max(agreement.renders.values())
    closest = max(agreement.differences.values()), max(agreement.cells.values())
    checks = [agreement.size <= TOTAL_BYTES, agreement.opened <= OPEN_SECONDS, render <= RENDER_MS,
              closest[0] <= PROBABILITY_TOLERANCE and closest[1] <= CELL_TOLERANCE]  # fmt: skip
    verdict = {True: "**met**", False: "**missed**"}
    rows = [
        f"| `{model}` | {time:.0f} | {agreement.differences[model]:.1e} |" for model, time in agreement.renders.items()
    ]
    lines = [
        "## The explorer in the browser",
        "",
        "`reports/explorer/index.html` in Debian's Chromium under playwright, offline, opened from disk; each"
        f" model's probabilities on the first {agreement.images} test images against Keras's `predict`, a"
        " convolution cell of each convolution against Keras's feature map, and the forward pass of one image"
        " with every feature map and Grad-CAM drawn (median of 5).",
        "",
        "| model | forward pass with every map drawn, ms | largest probability difference from Keras |",
        "|---|---|---|",
        *rows,
        "",
        f"- Everything the page loads: {agreement.size / 1e6:.1f} MB. Target at most {TOTAL_BYTES / 1e6:.0f} MB:"
        f" {verdict[checks[0]]}.",
        f"- Open to an interactive page: {agreement.opened:.2f} s. Target at most {OPEN_SECONDS:.0f} s:"
        f" {verdict[checks[1]]}.",
        f"- Slowest forward pass with every map drawn: {render:.0f} ms. Target at most {RENDER_MS:.0f} ms:"
        f" {verdict[checks[2]]}.",
        f"- Probabilities within {closest[0]:.1e} of Keras (target {PROBABILITY_TOLERANCE:.0e}), {len(agreement.cells)}"
        f" convolution cells within {closest[1]:.1e} (target {CELL_TOLERANCE:.0e}): {verdict[checks[3]]}.",
        "",
    ]
    print("\n".join(lines), flush=True)
    return lines, checks
