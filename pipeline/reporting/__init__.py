"""Pages and figures: one style for every figure, with byte-for-byte reproducible PNGs
(`plotting`)."""
