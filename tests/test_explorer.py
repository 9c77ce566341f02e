"""The explorer (stages/explorer.py) computes in the browser what Keras computes, offline.

Headless Chromium (Debian's, driven by playwright) opens the page from disk with every host
name unresolvable and every request that is not a file of the page aborted and logged. On a
small model built here with every layer option (strides 2, `same` padding, a 5x5 kernel, every
activation, dropout, augmentation) and on the trained models of `dvc repro` where they are
present, the page's probabilities, feature-map cells and Grad-CAM maps are compared with Keras's.
"""

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

from pipeline.analysis.attention import grad_cam
from pipeline.configuration.params import STUDIES, load_params, model_names
from pipeline.data.arrays import load_split
from pipeline.errors import PipelineError
from pipeline.reporting.explorer import Exported, write_explorer
from pipeline.training.models import build_model, load_model
from tests.conftest import REPO, config_of, run_module

CHECKED = 200  # test images whose probabilities are compared
PROBABILITY_TOLERANCE = 1e-4
CELL_TOLERANCE = 1e-5
TOTAL_BYTES = 25_000_000
LAST = {"output": {"type": "dense", "units": 10, "activation": "softmax"}}
PATHS = next(block["paths"] for block in yaml.safe_load((REPO / "dvc.yaml").read_text())["vars"] if "paths" in block)
EVERY_OPTION = {
    "random_shift": {"type": "random_shift", "factor": 0.1},
    "random_flip": {"type": "random_flip"},
    "random_zoom": {"type": "random_zoom", "factor": 0.1},
    "conv_1": {"type": "conv", "filters": 6, "kernel": 5, "strides": 2, "padding": "same"},
    "pool_1": {"type": "maxpool", "pool": 3, "strides": 2, "padding": "same"},
    "conv_2": {"type": "conv", "filters": 8, "kernel": 3, "padding": "same", "activation": "gelu"},
    "conv_3": {"type": "conv", "filters": 8, "kernel": 3, "padding": "same", "activation": "elu"},
    "conv_4": {"type": "conv", "filters": 8, "kernel": 2, "activation": "swish"},
    "conv_5": {"type": "conv", "filters": 8, "kernel": 1, "activation": "softmax"},
    "pool_2": {"type": "maxpool", "pool": 2},
    "flatten": {"type": "flatten"},
    "dropout_1": {"type": "dropout", "rate": 0.5},
    "dense_1": {"type": "dense", "units": 32, "activation": "selu", "l2": 0.001},
    "dense_2": {"type": "dense", "units": 16, "activation": "sigmoid"},
    "dense_3": {"type": "dense", "units": 16, "activation": "tanh"},
    "dense_4": {"type": "dense", "units": 16},
    "dropout_2": {"type": "dropout", "rate": 0.2},
    **LAST,
}


class Explorer:
    """The page opened from disk, with every request that leaves it and every console error."""

    def __init__(self, browser, folder: Path) -> None:
        self.requests, self.errors = [], []
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.route("**/*", self.only_files)
        self.page = self.context.new_page()
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto((folder / "index.html").resolve().as_uri())
        self.timings = self.page.evaluate("explorer.ready")

    def only_files(self, route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def choose(self, key: str) -> None:
        self.page.evaluate("key => explorer.choose(key)", key)

    def send(self, images: np.ndarray) -> None:
        """The images to check, sent to the page once: a list of 200 images crosses slowly."""
        self.page.evaluate("flat => { window.checked = Float32Array.from(flat); }", images.reshape(-1).tolist())
        self.count = len(images)

    def probabilities(self) -> np.ndarray:
        """The chosen model's probabilities for the images sent."""
        return np.array(self.page.evaluate("count => explorer.predict(window.checked, count)", self.count))

    def grad_cam(self, image: np.ndarray, chosen: int) -> np.ndarray:
        flat = image.reshape(-1).tolist()
        cam = self.page.evaluate("([flat, chosen]) => explorer.gradCam(flat, chosen)", [flat, int(chosen)])
        return np.array(cam["map"]).reshape(cam["height"], cam["width"])

    def show(self, image: np.ndarray) -> list[float]:
        return self.page.evaluate("pixels => explorer.show(pixels)", image.reshape(-1).tolist())

    def render_ms(self, image: np.ndarray, times: int = 5) -> float:
        """The median time of a forward pass with every map, bar and Grad-CAM drawn."""
        renders = []
        for _ in range(times):
            self.show(image)
            renders.append(self.page.evaluate("explorer.timings.render"))
        return statistics.median(renders)

    def click_cell(self, layer: str, channel: int, row: int, column: int) -> dict[str, float]:
        """Click one feature-map cell; the detail panel's figures by role, and its products."""
        canvas = self.page.locator(f'.layer[data-layer="{layer}"] canvas[data-channel="{channel}"]')
        box = canvas.bounding_box()
        height, width = (int(canvas.get_attribute(side)) for side in ("height", "width"))
        canvas.click(position={"x": (column + 0.5) * box["width"] / width, "y": (row + 0.5) * box["height"] / height})
        figures = self.page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('#detail [data-role][data-value]')]
                 .filter((node) => node.dataset.role !== 'product')
                 .map((node) => [node.dataset.role, Number(node.dataset.value)]))"""
        )
        products = self.page.evaluate(
            "() => [...document.querySelectorAll('#detail [data-role=product]')]"
            ".map((node) => Number(node.dataset.value))"
        )
        return {**figures, "products": products}

    def close(self) -> None:
        self.context.close()


def layer_outputs(model, names: list[str], images: np.ndarray) -> list[np.ndarray]:
    probe = keras.Model(inputs=model.inputs, outputs=[model.get_layer(name).output for name in names])
    outputs = probe.predict(images, verbose=0)
    return outputs if isinstance(outputs, list) else [outputs]


def checked_images(root: Path = REPO) -> tuple[np.ndarray, np.ndarray]:
    """The first CHECKED prepared test images of a checkout, or random ones where `prepare` has not run."""
    prepared = root / PATHS["prepared"]
    if (prepared / "x_test.npy").is_file():
        images, labels = load_split(prepared, "test")
        return images[:CHECKED], labels[:CHECKED]
    rng = np.random.default_rng(0)
    return rng.random((CHECKED, 28, 28, 1), dtype=np.float32), np.arange(CHECKED) % 10


def every_option_model() -> keras.Model:
    """The model of EVERY_OPTION with random weights and biases, seeded."""
    model = build_model(config_of(EVERY_OPTION))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.3, weights.shape).astype(np.float32) for weights in model.get_weights()])
    return model


def exported(model: keras.Model, images: np.ndarray) -> Exported:
    predicted = model.predict(images, verbose=0).argmax(axis=1)
    return Exported("models", config_of(EVERY_OPTION), model, predicted)


def strongest_cell(maps: np.ndarray, channel: int) -> tuple[int, int]:
    """The row and column of a channel's largest value: a positive one, where the activation passes the sum."""
    row, column = np.unravel_index(maps[:, :, channel].argmax(), maps.shape[:2])
    return int(row), int(column)


def check_cell(explorer: Explorer, model: keras.Model, layer: str, image: np.ndarray, channel: int) -> float:
    """Click the strongest cell of a convolution's channel; how far the page is from Keras there."""
    (maps,) = layer_outputs(model, [layer], image[np.newaxis])
    row, column = strongest_cell(maps[0], channel)
    shown = explorer.click_cell(layer, channel, row, column)
    expected = float(maps[0, row, column, channel])
    assert abs(shown["map-value"] - expected) <= CELL_TOLERANCE, (layer, shown["map-value"], expected)
    assert abs(shown["activation"] - shown["map-value"]) <= CELL_TOLERANCE
    assert abs(sum(shown["products"]) - shown["sum"]) <= CELL_TOLERANCE
    assert len(shown["products"]) == np.prod(model.get_layer(layer).kernel.shape[:3])
    return abs(shown["map-value"] - expected)


def cam_difference(explorer: Explorer, model: keras.Model, images: np.ndarray, classes: np.ndarray) -> float:
    """How far the page's Grad-CAM maps are from pipeline/analysis/attention.py's."""
    shown = np.array([explorer.grad_cam(image, chosen) for image, chosen in zip(images, classes, strict=True)])
    return float(np.abs(shown - grad_cam(model, images, classes)).max())


def check_stroke(explorer: Explorer) -> None:
    before = explorer.show(np.zeros(784))
    drawing = explorer.page.locator("#drawing")
    drawing.scroll_into_view_if_needed()
    box = drawing.bounding_box()
    mouse = explorer.page.mouse
    mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    mouse.down()
    mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8, steps=12)
    mouse.up()
    explorer.page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    after = explorer.page.evaluate("explorer.probabilities()")
    change = np.abs(np.array(after) - before).max()
    assert change > 1e-3, f"drawing a stroke changed the probabilities by {change} only"


def check_offline(explorer: Explorer) -> None:
    assert explorer.requests == [], f"the page asked the network for {explorer.requests}"
    assert explorer.errors == [], f"the console shows errors: {explorer.errors}"


def contents(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_export_is_byte_identical_on_a_rerun(tmp_path: Path):
    images, labels = checked_images()
    for run in ("first", "second"):
        write_explorer(tmp_path / run, [exported(every_option_model(), images)], images, labels)
    assert contents(tmp_path / "first") == contents(tmp_path / "second")


def test_a_model_whose_layers_are_not_the_declared_ones_is_refused(tmp_path: Path):
    images, labels = checked_images()
    model = every_option_model()
    other = Exported("models", config_of({"flatten": {"type": "flatten"}, **LAST}), model, np.zeros(len(labels)))
    with pytest.raises(PipelineError, match=r"test\.js: layers .* but the configuration declares"):
        write_explorer(tmp_path / "out", [other], images, labels)


@pytest.mark.slow
def test_page_computes_what_keras_computes_with_every_layer_option(tmp_path: Path, browser, capsys):
    images, labels = checked_images()
    model = every_option_model()
    write_explorer(tmp_path, [exported(model, images)], images, labels)
    explorer = Explorer(browser, tmp_path)
    explorer.send(images)
    probabilities = explorer.probabilities()
    expected = model.predict(images, verbose=0)
    difference = np.abs(probabilities - expected).max()
    assert difference <= PROBABILITY_TOLERANCE
    assert (probabilities.argmax(axis=1) == expected.argmax(axis=1)).all()
    explorer.show(images[0])
    convolutions = [name for name, layer in EVERY_OPTION.items() if layer["type"] == "conv"]
    cells = [check_cell(explorer, model, layer, images[0], 1) for layer in convolutions]
    shown = explorer.click_cell("pool_1", 2, 3, 6)
    (pooled,) = layer_outputs(model, ["pool_1"], images[:1])
    assert abs(shown["winner"] - pooled[0, 3, 6, 2]) <= CELL_TOLERANCE
    classes = expected.argmax(axis=1)[:20]
    cams = max(cam_difference(explorer, model, images[:20], chosen) for chosen in (classes, (classes + 3) % 10))
    assert cams <= PROBABILITY_TOLERANCE
    check_stroke(explorer)
    check_offline(explorer)
    explorer.close()
    with capsys.disabled():
        print(
            f"\nexplorer, every layer option: {len(images)} images, probabilities within {difference:.1e} of Keras,"
            f" cells within {max(cells):.1e}, Grad-CAM within {cams:.1e}"
        )


def declared(root: Path = REPO) -> list[tuple[str, str]]:
    """(group, name) of every declared model and study variant of a checkout."""
    params = load_params(root / "params.yaml")
    (study,) = STUDIES
    return [("models", name) for name in model_names(params)] + [(study, name) for name in model_names(params, study)]


def trained_model(root: Path, group: str, name: str) -> Path:
    models = PATHS["models"] if group == "models" else PATHS["study"]["models"]
    return root / models / f"{name}.seeds" / "seed_0.keras"


def stage_arguments(root: Path, out_dir: Path) -> list[str]:
    study = PATHS["study"]
    paths = {
        "--configs": PATHS["configs"], "--data": PATHS["prepared"], "--models-dir": PATHS["models"],
        "--predictions-dir": PATHS["predictions"], "--study-configs": study["configs"],
        "--study-models-dir": study["models"], "--study-predictions-dir": study["predictions"],
    }  # fmt: skip
    arguments = ["--out-dir", str(out_dir)]
    for option, path in paths.items():
        arguments += [option, str(root / path)]
    return arguments


@dataclass
class Agreement:
    """What checking the explorer against Keras measured: bytes loaded, seconds to open, and per model
    the largest probability difference, the slowest convolution cell and the forward pass with every map
    drawn (median milliseconds)."""

    size: int
    opened: float
    images: int
    differences: dict[str, float] = field(default_factory=dict)
    cells: dict[str, float] = field(default_factory=dict)
    renders: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        slowest = max(self.renders, key=self.renders.get)
        return (
            f"explorer, {len(self.differences)} trained models: {self.size / 1e6:.1f} MB, open in {self.opened:.2f} s,"
            f" {self.images} images each, probabilities within {max(self.differences.values()):.1e} of Keras,"
            f" {len(self.cells)} convolution cells within {max(self.cells.values()):.1e}, slowest forward pass with"
            f" every map drawn {self.renders[slowest]:.0f} ms ({slowest})"
        )


def check_every_trained_model(browser, out: Path, root: Path, keep: Callable[[Explorer], None]) -> Agreement:
    """The explorer in `out` against Keras on every model `root` (a checkout after `dvc repro`)
    declares: probabilities on CHECKED test images, a cell of every convolution, a stroke, the
    network. `keep` sees the page at the end (the benchmark takes its picture there)."""
    images, _ = checked_images(root)
    explorer = Explorer(browser, out)
    explorer.send(images)
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    agreement = Agreement(size, explorer.timings["ready"] / 1000, len(images))
    assert agreement.size <= TOTAL_BYTES
    for group, name in declared(root):
        model = load_model(trained_model(root, group, name))
        explorer.choose(f"{group}/{name}")
        probabilities = explorer.probabilities()
        expected = model.predict(images, verbose=0)
        agreement.differences[f"{group}/{name}"] = float(np.abs(probabilities - expected).max())
        assert agreement.differences[f"{group}/{name}"] <= PROBABILITY_TOLERANCE, name
        assert (probabilities.argmax(axis=1) == expected.argmax(axis=1)).all(), name
        agreement.renders[f"{group}/{name}"] = explorer.render_ms(images[0])
        convolutions = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        for layer in convolutions:
            agreement.cells[f"{group}/{name}/{layer}"] = check_cell(explorer, model, layer, images[0], 0)
    check_stroke(explorer)
    check_offline(explorer)
    keep(explorer)
    explorer.close()
    return agreement


@pytest.mark.slow
def test_page_computes_what_keras_computes_for_every_trained_model(tmp_path: Path, browser, capsys):
    """On this checkout's models, where `dvc repro` or `dvc pull` made them; the end-to-end tests
    check the same on the models their subset pipeline trains (tests/test_pipeline.py)."""
    missing = [str(trained_model(REPO, *model)) for model in declared() if not trained_model(REPO, *model).is_file()]
    if missing:
        pytest.skip(f"{len(missing)} trained models missing (`dvc repro` or `dvc pull` makes them): {missing[0]} ...")
    out = tmp_path / "explorer"
    result = run_module("stages.explorer", *stage_arguments(REPO, out), cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    agreement = check_every_trained_model(browser, out, REPO, keep=lambda explorer: None)
    with capsys.disabled():
        print("\n" + agreement.describe())
