"""publisher: Markdown articles to a blog, feeds and an email newsletter."""

__version__ = "0.1.0"
