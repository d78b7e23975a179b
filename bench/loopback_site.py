"""A loopback news site for the throughput benchmark: N real article pages behind feeds.

The 181 real pages of the article-extraction benchmark are replicated to N pages
under distinct URLs. Copy k of a page carries one extra sentence inside its longest
paragraph, so copies are never exact duplicates of each other (they are near
duplicates, which the pipeline has to find). Feeds of 50 items list the pages in
order. Feeds answer 304 to a matching If-None-Match, like a well-behaved site.

Pages are built on request from the 181 originals, so N = 8,000 does not hold
1.4 GB in memory.
"""

from __future__ import annotations

import gzip
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

FEED_SIZE = 50
_P_OPEN = re.compile(rb"<p(?:\s[^>]*)?>", re.IGNORECASE)
_P_CLOSE = re.compile(rb"</p\s*>", re.IGNORECASE)
_TAG = re.compile(rb"<[^>]+>")


@dataclass(frozen=True)
class SourcePage:
    name: str
    html: bytes
    cut: int  # byte offset where a copy's extra sentence goes


def insertion_point(html: bytes) -> int:
    """Offset just inside the paragraph with the most text (the article body, almost
    always); after ``<body>`` if the page has no paragraph."""
    best, best_len = -1, -1
    for match in _P_OPEN.finditer(html):
        end = _P_CLOSE.search(html, match.end())
        stop = end.start() if end else min(len(html), match.end() + 2000)
        text_len = len(_TAG.sub(b"", html[match.end():stop]).strip())
        if text_len > best_len:
            best, best_len = match.end(), text_len
    if best >= 0:
        return best
    body = re.search(rb"<body[^>]*>", html, re.IGNORECASE)
    return body.end() if body else 0


def load_pages(corpus_dir: Path) -> list[SourcePage]:
    """The benchmark's pages (``html/*.html.gz``), in name order."""
    pages = []
    for path in sorted((corpus_dir / "html").glob("*.html.gz")):
        html = gzip.decompress(path.read_bytes())
        pages.append(SourcePage(path.name.removesuffix(".html.gz"), html, insertion_point(html)))
    if not pages:
        raise FileNotFoundError(f"no *.html.gz pages under {corpus_dir / 'html'}")
    return pages


def page_copy(page: SourcePage, copy_no: int) -> bytes:
    """Copy ``copy_no`` of a page; copy 0 is the page as published."""
    if copy_no == 0:
        return page.html
    extra = f"Edition {copy_no} of this report was republished by mirror site number {copy_no}. "
    return page.html[:page.cut] + extra.encode() + page.html[page.cut:]


class Catalogue:
    """Which page (and which copy of it) sits at each of the N article paths."""

    def __init__(self, pages: list[SourcePage], n: int) -> None:
        self.pages, self.n = pages, n

    def source(self, i: int) -> tuple[SourcePage, int]:
        return self.pages[i % len(self.pages)], i // len(self.pages)

    def article(self, i: int) -> bytes:
        page, copy_no = self.source(i)
        return page_copy(page, copy_no)

    @property
    def feeds(self) -> int:
        return -(-self.n // FEED_SIZE)

    def feed(self, j: int, base_url: str) -> bytes:
        start = datetime(2026, 11, 1, tzinfo=UTC)
        items = []
        for i in range(j * FEED_SIZE, min(self.n, (j + 1) * FEED_SIZE)):
            page, copy_no = self.source(i)
            link = f"{base_url}/a/{i}.html"
            items.append(
                f"<item><title>{escape(page.name)} (copy {copy_no})</title><link>{link}</link>"
                f"<guid isPermaLink=\"true\">{link}</guid>"
                f"<pubDate>{format_datetime(start + timedelta(minutes=i))}</pubDate></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>bench feed {j}</title><link>{base_url}/</link><description>benchmark</description>"
            + "".join(items) + "</channel></rss>"
        ).encode()

    def etag(self, j: int) -> str:
        return f'"bench-{self.n}-{j}"'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    catalogue: Catalogue
    base_url: str

    def log_message(self, format, *args):  # noqa: A002 - quiet server
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server API
        path = self.path.split("?", 1)[0]
        cat = self.catalogue
        if m := re.fullmatch(r"/a/(\d+)\.html", path):
            i = int(m.group(1))
            return self._send(200, cat.article(i)) if i < cat.n else self._send(404)
        if m := re.fullmatch(r"/feeds/(\d+)\.xml", path):
            j = int(m.group(1))
            if j >= cat.feeds:
                return self._send(404)
            etag = cat.etag(j)
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, headers={"ETag": etag})
            return self._send(200, cat.feed(j, self.base_url), "application/rss+xml", {"ETag": etag})
        return self._send(404, b"not found", "text/plain")

    do_HEAD = do_GET


class LoopbackSite:
    """Serve a Catalogue on 127.0.0.1 in a background thread (a context manager)."""

    def __init__(self, catalogue: Catalogue) -> None:
        handler = type("Handler", (_Handler,), {"catalogue": catalogue})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        handler.base_url = self.base_url
        self.catalogue = catalogue
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def feed_urls(self) -> list[str]:
        return [f"{self.base_url}/feeds/{j}.xml" for j in range(self.catalogue.feeds)]

    def __enter__(self) -> LoopbackSite:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
