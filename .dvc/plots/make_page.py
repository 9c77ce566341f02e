"""Writes index.html, the page template of `dvc plots show` (`.dvc/config`: plots.html_template).

DVC writes the page wherever `-o` says, so a relative `<script src>` to vendor/ would break; and
DVC's own page loads vega from a CDN, blank with no network. So the vendored scripts go inside the
template (and thus inside every page), licences included, and the template leaves out DVC's
`{scripts}` placeholder, which holds the CDN tags. After updating vendor/, run:

    python .dvc/plots/make_page.py
"""

import re
from pathlib import Path

HERE = Path(__file__).parent
VENDOR = HERE / "vendor"
LIBRARIES = ("vega", "vega-lite", "vega-embed")  # load order: vega-embed needs the other two

# SVG rather than canvas: sharp at any zoom, and every mark is in the DOM, where
# tests/test_plots_page.py counts them. No "Open in Vega Editor" link: it needs the network.
EMBED_DEFAULTS = """\
window.vegaEmbed = ((embed) => (el, spec, opts) => embed(el, spec, {
  renderer: "svg", actions: {export: true, source: true, compiled: false, editor: false}, ...opts,
}))(window.vegaEmbed);"""

STYLE = """\
body { font-family: sans-serif; display: flex; flex-wrap: wrap; align-items: flex-start; gap: 24px; }
.vega-embed { padding-right: 32px; }"""


def script(library: str) -> str:
    """The library's minified build as an inline script, without its source-map comment
    (the map is not vendored, so the browser's developer tools would look for it in vain)."""
    code = (VENDOR / f"{library}.min.js").read_text(encoding="utf-8")
    assert "</script" not in code.lower(), f"{library}.min.js would end its inline <script> early"
    return "<script>\n" + re.sub(r"\n//# sourceMappingURL=\S+\s*$", "", code).rstrip() + "\n</script>"


def page() -> str:
    """The template: licences, the three libraries, the embed defaults, and DVC's placeholders."""
    licences = "\n\n".join(
        f"{library}:\n{(VENDOR / f'LICENSE-{library}').read_text(encoding='utf-8').strip()}" for library in LIBRARIES
    )
    scripts = "\n".join(script(library) for library in LIBRARIES)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{{refresh_tag}}
<title>Fashion-MNIST: dvc plots</title>
<!-- Written by .dvc/plots/make_page.py from .dvc/plots/vendor/: vega, vega-lite and vega-embed
are inlined, so this page needs no network. Their licences:

{licences}
-->
{scripts}
<script>
{EMBED_DEFAULTS}
</script>
<style>
{STYLE}
</style>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


if __name__ == "__main__":
    (HERE / "index.html").write_text(page(), encoding="utf-8")
