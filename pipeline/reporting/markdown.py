"""Markdown, written one way on every page: tables, lists of words, headings' anchors, contents.

The page stages compute their facts elsewhere and only say them here, so that two pages never
format the same kind of thing differently.
"""

import re

import pandas as pd
from pandas.api.types import is_float_dtype


def table(frame: pd.DataFrame, left: int = 1, index: bool = False, float_format: str = "g") -> str:
    """A pipe table: the first `left` columns (the index counts when shown) aligned left, the rest
    right. Strings are written as they are (a formatted "0.910" stays "0.910"); floats with
    `float_format`."""
    columns = frame.shape[1] + (1 if index else 0)
    written = frame.apply(
        lambda column: column.map(f"{{:{float_format}}}".format) if is_float_dtype(column) else column
    )
    return written.to_markdown(
        index=index, disable_numparse=True, colalign=["left"] * left + ["right"] * (columns - left)
    )


def row_table(header: list[str], rows: list[list[str]]) -> str:
    """A pipe table of cells already written as Markdown (links, code), every column left-aligned, with
    the compact `|---|` rule: the form for tables whose cells are sentences rather than numbers."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def listing(items: list[str]) -> str:
    """Words as a sentence lists them: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def anchor(heading: str, seen: dict[str, int]) -> str:
    """The anchor a repository host gives a heading: lower case, punctuation dropped, dashes; a
    repeated heading gets -1, -2 (`seen` counts them over one page)."""
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    seen[slug] = seen.get(slug, -1) + 1
    return slug if seen[slug] == 0 else f"{slug}-{seen[slug]}"


def table_of_contents(page: str) -> str:
    """Links to the page's second- and third-level headings, indented by level, folded away so that
    the first screen reaches the results."""
    seen: dict[str, int] = {}
    lines = ["<details>", "<summary>Contents</summary>", ""]
    for match in re.finditer(r"^(##+) (.+)$", page, flags=re.MULTILINE):
        level, title = len(match[1]), match[2]
        if level <= 3:
            lines.append(f"{'  ' * (level - 2)}- [{title}](#{anchor(title, seen)})")
    return "\n".join([*lines, "", "</details>", ""])
