"""Pages and figures: one style for every figure, with byte-for-byte reproducible PNGs
(`plotting`), Markdown written one way on every page: tables, lists, anchors (`markdown`), and the
in-browser explorer's export of every model's layers and weights (`explorer`)."""
