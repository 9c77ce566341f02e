"""The front page must read at a repository host's 1,012-pixel width, as a new user first sees it.

reports/README.md is rendered to HTML (markdown-it, as a host renders Markdown) with a stylesheet like
the host's: an article column of 980 px with 32 px padding, tables that scroll inside themselves
rather than widen the page. Headless Chromium lays it out at 1,012 x SCREEN px and a script measures
it: the page's own scroll width, each table against its column, each number in a table cell (a mean
± its SD, an interval, a count) on one line, and where the results table and figure end.
"""

import html
import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.conftest import REPO, declared_paths, offline_chromium

pytestmark = pytest.mark.slow  # every test here drives Chromium
WIDTH, SCREEN = 1012, 1000  # a repository host's narrowest full layout; a laptop's first screen
PAGE = REPO / declared_paths("${paths.reports.front_page}")
RESULTS_FIGURE = REPO / declared_paths("${paths.reports.results_figure}")
STYLE = """
body { margin: 0; font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
       font-size: 16px; line-height: 1.5; }
article { box-sizing: border-box; max-width: 980px; margin: 0 auto; padding: 32px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 85%; }
table { display: block; width: max-content; max-width: 100%; overflow: auto; border-spacing: 0;
        border-collapse: collapse; }
th, td { padding: 6px 13px; border: 1px solid #d1d9e0; }
th { font-weight: 600; }
img { max-width: 100%; box-sizing: content-box; }
"""
# Runs once the page and its images have loaded; writes what it measured into <pre id="measured">.
MEASURE = r"""
window.addEventListener("load", () => {
  const article = document.querySelector("article"), style = getComputedStyle(article);
  const column = article.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const number = /[-+−]?\d[\d.,x/]*%?(?:\s*(?:±|to)\s*[-+−]?\d[\d.,]*%?)?/g;
  const wrapped = [];
  for (const cell of document.querySelectorAll("th, td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(number)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) wrapped.push(match[0]);
      }
    }
  }
  const tables = [...document.querySelectorAll("table")].map(table => ({
    header: table.rows[0].innerText.replace(/\s+/g, " ").trim(),
    width: table.scrollWidth, shown: table.clientWidth, bottom: table.getBoundingClientRect().bottom,
  }));
  const images = [...document.images].map(image => ({
    src: image.getAttribute("src"), loaded: image.naturalWidth > 0, bottom: image.getBoundingClientRect().bottom,
  }));
  const measured = {
    viewport: window.innerWidth, page_width: document.documentElement.scrollWidth, column, tables, wrapped, images,
  };
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify(measured);
  document.body.appendChild(out);
});
"""


def page_html(markdown: str, base: Path) -> str:
    """The page as a host shows it: Markdown with tables and inline HTML (<details>), links from `base`."""
    body = MarkdownIt("commonmark").enable("table").render(markdown)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><base href="{base.as_uri()}/">'
        f"<style>{STYLE}</style><script>{MEASURE}</script></head><body><article>{body}</article></body></html>"
    )


def measure(page: Path, tmp_path: Path) -> dict:
    """Chromium's layout of `page` at WIDTH x SCREEN px, measured by MEASURE."""
    rendered = tmp_path / "page.html"
    rendered.write_text(page_html(page.read_text(), page.parent.resolve()), encoding="utf-8")
    browser = offline_chromium(
        rendered.as_uri(), tmp_path / "profile", "--hide-scrollbars", f"--window-size={WIDTH},{SCREEN}",
        "--virtual-time-budget=10000",
    )  # fmt: skip
    assert browser.returncode == 0, browser.stderr
    found = re.search(r'<pre id="measured">(.*?)</pre>', browser.stdout, re.S)
    assert found, "the measuring script did not run"
    measured = json.loads(html.unescape(found[1]))
    assert measured["viewport"] == WIDTH, f"Chromium laid the page out {measured['viewport']} px wide"
    return measured


@pytest.fixture(scope="module")
def front_page(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return measure(PAGE, tmp_path_factory.mktemp("front_page"))


def test_the_front_page_has_no_horizontal_scroll(front_page):
    assert front_page["page_width"] <= WIDTH


def test_every_table_fits_its_column_and_no_number_wraps(front_page):
    wide = [(table["header"], table["width"]) for table in front_page["tables"] if table["width"] > table["shown"]]
    assert wide == [], f"wider than the {front_page['column']:.0f} px column: {wide}"
    assert front_page["wrapped"] == [], "numbers broken over two lines"


def test_the_first_screen_shows_the_results_table_and_figure(front_page):
    results = [table for table in front_page["tables"] if "test accuracy" in table["header"]]
    assert results, "no results table (a header with `test accuracy`) on the page"
    assert results[0]["bottom"] <= SCREEN, f"the results table ends at {results[0]['bottom']:.0f} px"
    shown = [image for image in front_page["images"] if (PAGE.parent / image["src"]).resolve() == RESULTS_FIGURE]
    assert shown, f"{RESULTS_FIGURE.relative_to(REPO)} is not on the page"
    figure = shown[0]
    assert figure["loaded"], f"{figure['src']} did not load"
    assert figure["bottom"] <= SCREEN, f"the results figure ends at {figure['bottom']:.0f} px"


def test_a_wide_table_and_a_wrapped_number_are_caught(tmp_path):
    wide = "| " + " | ".join(f"column {index}" for index in range(20)) + " |\n|" + "---|" * 20 + "\n"
    prose = "| a |\n|---|\n| 0.8571 to 0.8808 " + "word " * 400 + "|\n"  # wraps, but between words only
    squeezed = "<table><tr><td style='width: 3em'>0.8906 ± 0.0015</td></tr></table>\n"
    page = tmp_path / "page.md"
    page.write_text("\n".join([wide, prose, squeezed]))
    measured = measure(page, tmp_path)
    assert [table["width"] > table["shown"] for table in measured["tables"]] == [True, False, False]
    assert measured["wrapped"] == ["0.8906 ± 0.0015"]
