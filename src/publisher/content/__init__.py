"""Posts and pages read from the author's files: front matter, Markdown, the Site."""
