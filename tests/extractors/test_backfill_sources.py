"""Backfill sources: sitemaps (index, urlset, Google News), feed archive links, URL files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.backfill_sources import archive_links, in_range, parse_sitemap, parse_url_file, wordpress_page
from extractors.errors import PermanentError
from extractors.feeds import parse_feed

SITE = Path(__file__).resolve().parents[2] / "examples" / "site"


def load(name: str) -> bytes:
    return (SITE / name).read_bytes().replace(b"{{BASE_URL}}", b"http://site.test")


def test_sitemap_index_and_google_news_urlset():
    index = parse_sitemap(load("sitemap.xml"), "http://site.test/sitemap.xml")
    assert [c[0] for c in index.children][-1] == "http://site.test/sitemap-news.xml" and not index.pages
    news = parse_sitemap(load("sitemap-news.xml"), "http://site.test/sitemap-news.xml")
    assert len(news.pages) == 3
    first = news.pages[0]
    assert first.title.startswith("Archbishop leads") and first.published == datetime(2024, 5, 10, 9, tzinfo=UTC)


def test_not_a_sitemap():
    with pytest.raises(PermanentError, match="not a sitemap"):
        parse_sitemap(b"<rss><channel/></rss>", "http://x.test/s.xml")


def test_rfc5005_links_and_wordpress_paging():
    atom = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id>'
            b'<link rel="prev-archive" href="/archive/2023-09.xml"/><link rel="self" href="/feed.xml"/>'
            b'<entry><id>e1</id><title>a</title><link href="http://x.test/a"/><updated>2023-10-01T00:00:00Z</updated>'
            b"</entry></feed>")
    feed = parse_feed(atom, "http://x.test/feed.xml", "f")
    assert archive_links(list(feed.links), "http://x.test/feed.xml") == ["http://x.test/archive/2023-09.xml"]
    assert wordpress_page("https://blog.test/feed/", 2) == "https://blog.test/feed/?paged=2"
    assert wordpress_page("https://blog.test/feed/?paged=2", 3) == "https://blog.test/feed/?paged=3"


def test_url_file_and_date_range():
    entries = parse_url_file("# articles\nhttps://a.test/1\n\nnot a url\nhttp://b.test/2  # old\n")
    assert [e.link for e in entries] == ["https://a.test/1", "http://b.test/2"]
    since, until = datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 12, 31, tzinfo=UTC)
    assert in_range(datetime(2020, 5, 1, tzinfo=UTC), since, until)
    assert not in_range(datetime(2021, 5, 1, tzinfo=UTC), since, until)
    assert in_range(None, since, until)
