"""The command-line arguments that the per-model stages share."""

import argparse
from pathlib import Path

from pipeline.names import model_name
from pipeline.params import STUDIES


def stage_parser(doc: str) -> argparse.ArgumentParser:
    """A stage's parser, described by the first line of its docstring."""
    return argparse.ArgumentParser(description=doc.splitlines()[0])


def model_parser(doc: str, study: bool = True) -> argparse.ArgumentParser:
    """A stage's parser: its docstring's first line, the model, and optionally its study.

    The model is checked as it is parsed: a bad name is one `error:` line naming the rule.
    """
    parser = stage_parser(doc)
    parser.add_argument(
        "model", type=model_name, help="a model name in params.yaml, or its DVC stage address <stage>@<model>"
    )
    if study:
        parser.add_argument("--study", choices=STUDIES, help="the study the model belongs to, if any")
    return parser


def directory(parser: argparse.ArgumentParser, option: str, what: str, required: bool = True) -> None:
    """A directory option, e.g. --models-dir: where <model>.keras is or goes."""
    parser.add_argument(option, type=Path, required=required, help=what)
