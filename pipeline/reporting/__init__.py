"""Pages and figures: one style for every figure, with byte-for-byte reproducible PNGs
(`plotting`), and Markdown written one way on every page: tables, lists, anchors (`markdown`)."""
