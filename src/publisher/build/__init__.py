"""The site built from a Site: theme, pages, feeds, the job plan, one build routine, the cache, output."""
