"""Python 3 ports of the article's Python 2 socket scripts, one module per I/O model."""
