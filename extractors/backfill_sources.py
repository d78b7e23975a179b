"""Backfill sources (pure parsing): sitemaps and sitemap indexes (Google News too),
archived and paged feeds (RFC 5005, WordPress ``?paged=N``), and files of URLs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree

from extractors.errors import PermanentError
from extractors.extract import parse_date
from extractors.records import FeedEntry

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: child sitemaps (an index) and/or page entries (a urlset)."""

    children: tuple[tuple[str, datetime | None], ...]
    pages: tuple[FeedEntry, ...]


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str, ns: str | None = None) -> str | None:
    for child in element.iter():
        if _local(child.tag) == name and (ns is None or child.tag.startswith("{" + ns)):
            return (child.text or "").strip() or None
    return None


def parse_sitemap(data: bytes, url: str, source: str = "sitemap") -> Sitemap:
    """Parse a sitemap index or urlset; raises PermanentError for anything else.

    A page's date is its Google News ``publication_date`` when present, else ``lastmod``.
    """
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                             huge_tree=False, recover=True))
    except etree.XMLSyntaxError as exc:
        raise PermanentError(f"sitemap {url} is not XML: {exc}") from exc
    if root is None or _local(root.tag) not in ("sitemapindex", "urlset"):
        raise PermanentError(f"{url} is not a sitemap (root element {getattr(root, 'tag', None)!r})")
    children: list[tuple[str, datetime | None]] = []
    pages: list[FeedEntry] = []
    for item in root:
        loc = _child_text(item, "loc")
        if not loc:
            continue
        loc = urljoin(url, loc)
        if _local(item.tag) == "sitemap":
            children.append((loc, parse_date(_child_text(item, "lastmod"))))
        elif _local(item.tag) == "url":
            published = parse_date(_child_text(item, "publication_date", NEWS_NS) or _child_text(item, "lastmod"))
            title = _child_text(item, "title", NEWS_NS) or ""
            pages.append(FeedEntry(source, loc, loc, title, published, "", ""))
    return Sitemap(tuple(children), tuple(pages))


def archive_links(links: list[dict[str, str]], base: str) -> list[str]:
    """URLs of older pages of a feed: RFC 5005 ``prev-archive`` and paging ``next`` links."""
    out = []
    for link in links:
        if link.get("rel") in ("prev-archive", "next", "previous") and link.get("href"):
            out.append(urljoin(base, link["href"]))
    return out


def wordpress_page(url: str, page: int) -> str:
    """The WordPress-style URL of page ``page`` of a feed (``?paged=N``)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    query.append(("paged", str(page)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def parse_url_file(text: str, source: str = "urls") -> list[FeedEntry]:
    """Entries from a file of URLs: one per line; blank lines and ``#`` comments skipped."""
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("http://", "https://")):
            entries.append(FeedEntry(source, line, line, "", None, "", ""))
    return entries


def in_range(when: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """True when ``when`` is inside [since, until]; an unknown date is kept (checked later)."""
    if when is None:
        return True
    return (since is None or when >= since) and (until is None or when <= until)
