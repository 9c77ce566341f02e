"""pipeline/reporting/markdown.py and pipeline/analysis/confusion.py: the one way pages write tables and
lists, and the one way a most frequent mistake is found."""

import numpy as np
import pandas as pd

from pipeline.analysis.confusion import confusion_rows, ranked_mistakes
from pipeline.data.fashion_mnist import CLASS_NAMES
from pipeline.reporting.markdown import anchor, listing, row_table, table, table_of_contents


def test_a_table_aligns_the_first_columns_left_and_keeps_formatted_strings():
    frame = pd.DataFrame({"model": ["dnn", "cnn_64"], "kind": ["dense", "conv"], "accuracy": ["0.910", "0.9200"]})
    lines = table(frame, left=2).splitlines()
    rule = [cell.strip() for cell in lines[1].strip("|").split("|")]
    assert [cell.startswith(":") for cell in rule] == [True, True, False]
    assert [cell.endswith(":") for cell in rule] == [False, False, True]
    assert "0.9200" in lines[3] and "0.910" in lines[2]  # not re-read as numbers and reformatted


def test_a_table_with_its_index_counts_the_index_as_a_left_column_and_formats_floats():
    frame = pd.DataFrame({"dnn": [0.91234, np.nan]}, index=pd.Index(["Shirt", "Bag"], name="class"))
    lines = table(frame, index=True, float_format=".3f").splitlines()
    assert lines[0].split("|")[1].strip() == "class"
    assert "0.912" in lines[2] and "0.91234" not in lines[2]
    assert lines[1].split("|")[1].strip().startswith(":") and lines[1].split("|")[2].strip().endswith(":")


def test_a_row_table_writes_cells_as_given():
    text = row_table(["model", "maps"], [["`dnn`", "[a](x/a.png) · [b](x/b.png)"]])
    assert text.splitlines() == ["| model | maps |", "|---|---|", "| `dnn` | [a](x/a.png) · [b](x/b.png) |"]


def test_listing_reads_as_a_sentence():
    assert listing(["a"]) == "a"
    assert listing(["a", "b"]) == "a and b"
    assert listing(["a", "b", "c"]) == "a, b and c"


def test_anchors_follow_the_hosts_rule_and_number_repeats():
    seen: dict[str, int] = {}
    assert anchor("Where each CNN looks: Grad-CAM", seen) == "where-each-cnn-looks-grad-cam"
    assert anchor("`cnn_32`", seen) == "cnn_32"
    assert anchor("`cnn_32`", seen) == "cnn_32-1"


def test_contents_list_second_and_third_level_headings_only():
    page = "# Title\n## Results\n### `dnn`\n#### deep\n## Results\n"
    contents = table_of_contents(page)
    assert "- [Results](#results)" in contents and "  - [`dnn`](#dnn)" in contents
    assert "- [Results](#results-1)" in contents and "deep" not in contents


def test_confusion_rows_count_every_cell_in_label_order():
    rows = confusion_rows(np.array([0, 0, 6, 6, 6]), np.array([0, 6, 0, 0, 6]))
    assert len(rows) == len(CLASS_NAMES) ** 2 and rows["count"].sum() == 5
    assert rows.iloc[0].tolist() == [CLASS_NAMES[0], CLASS_NAMES[0], 1]
    cell = rows[(rows["actual"] == CLASS_NAMES[6]) & (rows["predicted"] == CLASS_NAMES[0])]
    assert cell["count"].item() == 2


def test_ranked_mistakes_sum_over_the_rows_given_and_break_ties_in_label_order():
    first = confusion_rows(np.array([6, 6, 2, 4]), np.array([0, 0, 4, 2]))
    second = confusion_rows(np.array([2, 4, 4]), np.array([4, 2, 2]))
    mistakes = ranked_mistakes(pd.concat([first, second]))
    assert list(mistakes.items())[:3] == [
        ((CLASS_NAMES[4], CLASS_NAMES[2]), 3),
        ((CLASS_NAMES[2], CLASS_NAMES[4]), 2),  # tied with Shirt -> T-shirt/top, and first in label order
        ((CLASS_NAMES[6], CLASS_NAMES[0]), 2),
    ]
    assert (CLASS_NAMES[0], CLASS_NAMES[0]) not in mistakes.index
    assert len(mistakes) == len(CLASS_NAMES) * (len(CLASS_NAMES) - 1)
