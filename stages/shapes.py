"""Stage `shapes@<model>`: the model's output-shape table, by formula and as Keras reports it.

The model comes from <configs>/<model>.json (see `check_params`). Writes
<out-dir>/<model>.shapes.md and .shapes.csv (`publish` copies them into reports/): per layer
the input shape, window, stride, padding, the output shape by O = floor((i - f + 2p) / s) + 1,
the parameters by formula (conv (f*f*c_in + 1) * c_out, dense (n_in + 1) * n_out), Keras's
figures, and whether they agree, and the model's training memory as the train stage estimates it. A disagreement
fails the stage and writes nothing.
"""

import pandas as pd

from pipeline.architecture.layers import layer_output_shape
from pipeline.architecture.memory import MemoryEstimate, describe_memory, megabytes
from pipeline.architecture.shapes import padding_amount, parameter_count, shape_text
from pipeline.configuration.config import INPUT_SHAPE, ModelConfig, read_run_config
from pipeline.errors import PipelineError, run
from pipeline.files.cli import parse_arguments
from pipeline.files.names import SHAPES_PAGE, SHAPES_TABLE, named_path, remove_old
from pipeline.reporting import markdown


def size_arithmetic(layer: dict, shape: tuple[int, ...], output: tuple[int, ...]) -> str:
    """O = floor((i - f + 2p) / s) + 1 written out for a conv or pooling layer's input."""
    if layer["type"] not in ("conv", "maxpool"):
        return ""
    window = layer["kernel"] if layer["type"] == "conv" else layer["pool"]
    stride = layer["strides"]
    padding = padding_amount(shape[0], window, stride, layer["padding"])
    return f"⌊({shape[0]} − {window} + {padding}) / {stride}⌋ + 1 = {output[0]}"


def parameter_arithmetic(layer: dict, shape: tuple[int, ...], count: int) -> str:
    """(f*f*c_in + 1) * c_out or (n_in + 1) * n_out written out."""
    if layer["type"] == "conv":
        return f"({layer['kernel']}·{layer['kernel']}·{shape[-1]} + 1)·{layer['filters']} = {count:,}"
    if layer["type"] == "dense":
        return f"({shape[-1]} + 1)·{layer['units']} = {count:,}"
    return "0"


def shape_table(config: ModelConfig) -> pd.DataFrame:
    """One row per layer, the formula's figures beside Keras's."""
    from pipeline.training.models import build_model

    model = build_model(config)
    rows, shape = [], INPUT_SHAPE
    for layer, keras_layer in zip(config.layers, model.layers, strict=True):
        output = layer_output_shape(layer, shape)
        parameters = parameter_count(layer, shape)
        window = layer.get("kernel") or layer.get("pool")
        rows.append(
            {
                "layer": keras_layer.name,
                "type": type(keras_layer).__name__,
                "input": shape_text(shape),
                "window": f"{window}x{window}" if window else "",
                "stride": str(layer["strides"]) if window else "",
                "padding": layer.get("padding", ""),
                "output size arithmetic": size_arithmetic(layer, shape, output),
                "output": shape_text(output),
                "output (Keras)": shape_text(tuple(keras_layer.output.shape[1:])),
                "parameter arithmetic": parameter_arithmetic(layer, shape, parameters),
                "parameters": parameters,
                "parameters (Keras)": keras_layer.count_params(),
            }
        )
        shape = output
    table = pd.DataFrame(rows)
    table["agree"] = (table["output"] == table["output (Keras)"]) & (table["parameters"] == table["parameters (Keras)"])
    return table


def memory_line(estimate: MemoryEstimate) -> str:
    """The training memory estimate the train stage plans its workers with, and what it is made of."""
    return (
        f"Training it takes about {megabytes(estimate.total)} of memory per seed's process, as the train stage"
        f" estimates it before it starts: {describe_memory(estimate)}."
    )


def render(name: str, table: pd.DataFrame, estimate: MemoryEstimate) -> str:
    """The table for a 1,000-pixel page: window, stride and padding in one column, and each
    figure once, since the stage fails before writing when formula and Keras disagree."""
    described = table["window"] + " /" + table["stride"] + " " + table["padding"]
    window = described.where(table["window"] != "", "")
    shown = pd.DataFrame(
        {
            "layer": table["layer"],
            "type": table["type"],
            "input": table["input"],
            "window": window,
            "output side": table["output size arithmetic"],
            "output": table["output"],
            "parameters": table["parameter arithmetic"],
        }
    )
    return "\n".join(
        [
            f"#### `{name}`: output shapes and parameters",
            "",
            markdown.table(shown, left=shown.shape[1]),
            "",
            "Window: size /stride padding. Output side: ⌊(i − f + 2p) / s⌋ + 1. Parameters: (f·f·c_in + 1)·c_out"
            " for a convolution, (n_in + 1)·n_out for a dense layer.",
            f"{int(table['parameters (Keras)'].sum()):,} parameters in all. Keras builds the same shapes and"
            " parameter counts (the stage checks every layer against it).",
            memory_line(estimate),
            "",
        ]
    )


def main() -> None:
    args = parse_arguments(__doc__, "configs", "out_dir", model=True)
    run_config = read_run_config(named_path(args.configs, args.model, ".json"))
    config, estimate = run_config.model, run_config.memory
    csv_path = named_path(args.out_dir, args.model, SHAPES_TABLE)
    markdown_path = named_path(args.out_dir, args.model, SHAPES_PAGE)
    remove_old(csv_path, markdown_path)
    table = shape_table(config)
    wrong = table[~table["agree"]]
    if not wrong.empty:
        raise PipelineError(
            f"models.{args.model}: the shape arithmetic disagrees with Keras at "
            + ", ".join(
                f"{row['layer']} (formula {row['output']}, {row['parameters']} parameters; "
                f"Keras {row['output (Keras)']}, {row['parameters (Keras)']})"
                for _, row in wrong.iterrows()
            )
        )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv_path, index=False)
    markdown_path.write_text(render(args.model, table, estimate))


if __name__ == "__main__":
    run(main)
