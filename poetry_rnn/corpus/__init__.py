"""The corpus: reading the chinese-poetry JSON, cleaning, titles, the vocabulary, encoding, splits,
the compact cache, batching."""
