"""Flow fixtures: one Prefect test harness per session, a real fixture news site."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.site_server import SiteServer
from tests.conftest import CORPORA, ROOT


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory) -> Iterator[None]:
    import os

    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


def _item(i: int, path: str, title: str, guid: str, summary: str = "") -> str:
    return (f"<item><title>{title}</title><link>{{{{BASE_URL}}}}{path}</link>"
            f"<guid isPermaLink=\"false\">{guid}</guid>"
            f"<pubDate>Mon, 0{i % 9 + 1} Jan 2024 10:00:00 GMT</pubDate>"
            f"<description>{summary}</description></item>")


def _pages(n: int) -> list[bytes]:
    """Real article pages from the shared corpus, or the demo site's pages without it."""
    if CORPORA.joinpath("article-extraction-benchmark", "html").is_dir():
        files = sorted((CORPORA / "article-extraction-benchmark" / "html").glob("*.html.gz"))[:n]
        return [gzip.decompress(f.read_bytes()) for f in files]
    files = sorted((ROOT / "examples" / "site" / "ledger").glob("20*.html"))[:n]
    return [f.read_bytes().replace(b"{{BASE_URL}}", b"https://ledger.example") for f in files]


def build_site(root: Path, pages: int = 6) -> dict[str, str]:
    """Write a news site of real benchmark pages: two feeds, a copy, a 404, a broken feed.

    Returns the feed name -> path map.
    """
    (root / "news").mkdir(parents=True)
    (root / "feeds").mkdir()
    items = []
    for i, html in enumerate(_pages(pages)):
        (root / "news" / f"{i}.html").write_bytes(html)
        items.append(_item(i, f"/news/{i}.html?utm_source=rss", f"Story {i}", f"story-{i}"))
    # The same page under a second URL: an exact text duplicate.
    shutil.copy(root / "news" / "0.html", root / "news" / "copy-of-0.html")
    items.append(_item(7, "/news/copy-of-0.html", "Copy", "copy-0"))
    items.append(_item(8, "/news/gone.html", "Gone", "gone",
                       "This page was removed, but its feed summary still carries enough words."))
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Main</title>{"".join(items)}</channel></rss>'
    (root / "feeds" / "main.xml").write_text(rss)
    atom_entry = ('<entry><title>Again</title><id>tag:site,2024:1</id>'
                  '<link href="{{BASE_URL}}/news/1.html"/><updated>2024-01-02T00:00:00Z</updated></entry>')
    (root / "feeds" / "second.atom").write_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>Second</title><id>tag:site,2024:feed</id><updated>2024-01-02T00:00:00Z</updated>{atom_entry}</feed>')
    (root / "feeds" / "broken.xml").write_text("<html><body><h1>Service unavailable</h1>")
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    return {"main": "feeds/main.xml", "second": "feeds/second.atom", "broken": "feeds/broken.xml"}


def write_config(path: Path, base_url: str, feeds: dict[str, str], db: Path, extra: str = "") -> Path:
    lines = [f'[warehouse]\npath = "{db}"\n', "[fetch]\ntimeout_s = 5\nper_host_delay_s = 0.0\n"
             'private_allowlist = ["127.0.0.1"]\n', "[run]\nbatch_size = 3\n", extra]
    lines += [f'[[feeds]]\nname = "{n}"\nurl = "{base_url}/{p}"\n' for n, p in feeds.items()]
    path.write_text("\n".join(lines))
    return path


@pytest.fixture
def news_site(tmp_path) -> Iterator[tuple[SiteServer, dict[str, str]]]:
    root = tmp_path / "site"
    feeds = build_site(root)
    with SiteServer(root) as server:
        yield server, feeds
