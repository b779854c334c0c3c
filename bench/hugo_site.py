"""The benchmark corpus as a Hugo site, with layouts that produce what publisher's default theme does.

Same posts (front matter and Markdown untouched), and the same kinds of output: a page per post with its
topics and neighbours, home pages of 10 summaries, a page per tag listing every post in it, a topics index,
an archive of all posts, RSS, Atom and JSON feeds of the newest 20 with full content, and the sitemap.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CONFIG = """\
baseURL = "https://bench.example.com/"
title = "Benchmark Massage"
languageCode = "en-GB"
paginate = 10
rssLimit = 20
disableKinds = ["section"]

[taxonomies]
tag = "tags"

[outputs]
home = ["HTML", "RSS", "Atom", "JSON"]
taxonomy = ["HTML"]
term = ["HTML"]

[mediaTypes."application/atom+xml"]
suffixes = ["xml"]

[outputFormats.Atom]
mediaType = "application/atom+xml"
baseName = "atom"
isPlainText = true

[markup.goldmark.renderer]
unsafe = false
"""

LAYOUTS = {
    "_default/baseof.html": """<!doctype html>
<html lang="{{ .Site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} · {{ .Site.Title }}</title>
<meta name="description" content="{{ .Params.summary }}">
<link rel="canonical" href="{{ .Permalink }}">
<link rel="alternate" type="application/rss+xml" href="{{ "index.xml" | absURL }}">
<meta property="og:title" content="{{ .Title }}">
<meta property="og:url" content="{{ .Permalink }}">
</head>
<body>
<header><a href="{{ "/" | absURL }}">{{ .Site.Title }}</a>
<nav><a href="{{ "/" | absURL }}">Articles</a> <a href="{{ "archive/" | absURL }}">Archive</a>
<a href="{{ "tags/" | absURL }}">Topics</a></nav></header>
<main>{{ block "main" . }}{{ end }}</main>
<footer><form method="post" action="https://bench.example.com/subscribe"><input type="email" name="email">
<button>Subscribe</button></form></footer>
</body>
</html>
""",
    "_default/single.html": """{{ define "main" }}<article class="post"><h1>{{ .Title }}</h1>
<p class="meta"><time datetime="{{ .Date.Format "2006-01-02T15:04:05-07:00" }}">{{ .Date.Format "2 January 2006" }}</time></p>
<ul class="tags">{{ range .Params.tags }}<li><a href="{{ "tags/" | absURL }}{{ . | urlize }}/">{{ . }}</a></li>{{ end }}</ul>
<div class="body">{{ .Content }}</div></article>
<aside class="booking"><h2>Book a mobile massage</h2><a href="https://bench.example.com/booking/">Book a massage</a></aside>
<nav class="pager">{{ with .PrevInSection }}<a rel="next" href="{{ .Permalink }}">Older: {{ .Title }}</a>{{ end }}
{{ with .NextInSection }}<a rel="prev" href="{{ .Permalink }}">Newer: {{ .Title }}</a>{{ end }}</nav>{{ end }}
""",
    "partials/summary.html": """<article class="summary"><h2><a href="{{ .Permalink }}">{{ .Title }}</a></h2>
<p class="meta"><time datetime="{{ .Date.Format "2006-01-02T15:04:05-07:00" }}">{{ .Date.Format "2 January 2006" }}</time></p>
<p>{{ .Params.summary }}</p><p><a href="{{ .Permalink }}">Read more</a></p></article>
""",
    "index.html": """{{ define "main" }}{{ $paginator := .Paginate .Site.RegularPages }}
{{ range $paginator.Pages }}{{ partial "summary.html" . }}{{ end }}
<nav>{{ if $paginator.HasPrev }}<a href="{{ $paginator.Prev.URL }}">Newer</a>{{ end }}
{{ if $paginator.HasNext }}<a href="{{ $paginator.Next.URL }}">Older</a>{{ end }}</nav>{{ end }}
""",
    "_default/term.html": """{{ define "main" }}<h1>Posts about {{ .Title }}</h1>
{{ range .Pages }}{{ partial "summary.html" . }}{{ end }}{{ end }}
""",
    "_default/taxonomy.html": """{{ define "main" }}<h1>Topics</h1><ul>
{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.Permalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}
</ul>{{ end }}
""",
    "_default/archive.html": """{{ define "main" }}<h1>Archive</h1>
{{ range (where .Site.RegularPages "Section" "posts").GroupByDate "2006" }}<h2>{{ .Key }}</h2><ul>
{{ range .Pages }}<li><time>{{ .Date.Format "2 Jan 2006" }}</time> <a href="{{ .Permalink }}">{{ .Title }}</a></li>{{ end }}
</ul>{{ end }}{{ end }}
""",
    "index.rss.xml": """{{ printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<rss version="2.0"><channel><title>{{ .Site.Title }}</title><link>{{ .Permalink }}</link>
{{ range first 20 .Site.RegularPages }}<item><title>{{ .Title }}</title><link>{{ .Permalink }}</link>
<guid>{{ .Permalink }}</guid><pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate>
<description>{{ .Content | html }}</description></item>{{ end }}
</channel></rss>
""",
    "index.atom.xml": """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{{ .Site.Title }}</title><id>{{ .Permalink }}</id>
{{ range first 20 .Site.RegularPages }}<entry><title>{{ .Title }}</title><id>{{ .Permalink }}</id>
<link href="{{ .Permalink }}"/><updated>{{ .Date.Format "2006-01-02T15:04:05-07:00" }}</updated>
<content type="html">{{ .Content | html }}</content></entry>{{ end }}
</feed>
""",
    "index.json": """{{ $items := slice }}{{ range first 20 .Site.RegularPages }}{{ $items = $items | append (dict "id" .Permalink "url" .Permalink "title" .Title "content_html" .Content "summary" .Params.summary "date_published" (.Date.Format "2006-01-02T15:04:05-07:00") "tags" .Params.tags) }}{{ end }}{{ dict "version" "https://jsonfeed.org/version/1.1" "title" .Site.Title "items" $items | jsonify (dict "indent" "  ") }}
""",
}

ARCHIVE_PAGE = '---\ntitle: "Archive"\nlayout: "archive"\nurl: "/archive/"\n_build:\n  list: never\n---\n'


def make_hugo_site(corpus: Path, dest: Path) -> Path:
    """A Hugo site in `dest` built from the publisher site `corpus` (its posts/ copied unchanged)."""
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "content").mkdir(parents=True)
    shutil.copytree(corpus / "posts", dest / "content" / "posts")
    (dest / "content" / "archive.md").write_text(ARCHIVE_PAGE, encoding="utf-8")
    (dest / "config.toml").write_text(CONFIG, encoding="utf-8")
    for name, text in LAYOUTS.items():
        path = dest / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return dest
