"""Backfill flow runs under the Prefect harness: sitemap index with date bounds, a paged
feed (RFC 5005 archive links and WordPress ?paged=N), a URL file, idempotent with monitor."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flows.backfill import backfill
from flows.monitor import monitor
from flows.site_server import SiteServer
from tests.conftest import reply
from tests.flows.conftest import write_config
from tests.flows.test_monitor_flow import q

SITE = Path(__file__).resolve().parents[2] / "examples" / "site"
PAGES = sorted((SITE / "ledger").glob("20*.html"))


def test_sitemap_backfill_keeps_only_the_date_range(prefect_harness, tmp_path):
    db = tmp_path / "w.duckdb"
    with SiteServer(SITE) as site:
        config = write_config(tmp_path / "c.toml", site.base_url, {}, db)
        run = backfill(sitemap=f"{site.base_url}/sitemap.xml", since="2021-01-01", until="2022-12-31",
                       config_path=str(config))["run"]
    assert run["flow"] == "backfill" and run["status"] == "completed"
    dates = [r[0] for r in q(db, "SELECT published_at::DATE FROM articles WHERE origin = 'backfill' ORDER BY 1")]
    assert dates and all(str(d).startswith(("2021", "2022")) for d in dates)
    assert len(dates) == 4  # Jan 2021 summit copy, May 2021 Syunik, Sept 2022 Jermuk, Dec 2022 Lachin
    params = q(db, f"SELECT parameters->>'since', parameters->>'sitemap' FROM runs WHERE run_id = '{run['run_id']}'")
    assert params[0][0] == "2021-01-01" and params[0][1].endswith("/sitemap.xml")


def _paged_feed(server, pages_per_feed: int = 2):
    """Three pages of an RSS feed answered by ?paged=N, then 404; article pages under /a/."""
    def item(n: int) -> str:
        return (f"<item><title>Story {n}</title><link>{server.base}/a/{n}</link><guid>g{n}</guid>"
                f"<pubDate>Mon, 0{n} Jan 2024 10:00:00 GMT</pubDate></item>")

    def feed(h):
        page = int(parse_qs(urlsplit(h.path).query).get("paged", ["1"])[0])
        if page > 3:
            reply(h, 404, b"gone")
            return
        numbers = range((page - 1) * pages_per_feed + 1, page * pages_per_feed + 1)
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>P</title>{"".join(map(item, numbers))}'
        reply(h, 200, (body + "</channel></rss>").encode(), {"Content-Type": "application/rss+xml"})

    server.route("/feed/", feed)
    for n in range(1, 7):
        html = PAGES[n].read_bytes().replace(b"{{BASE_URL}}", b"https://ledger.example")
        server.route(f"/a/{n}", lambda h, html=html: reply(h, 200, html))


def test_paged_feed_backfill_and_idempotence_with_monitor(prefect_harness, tmp_path, server):
    _paged_feed(server)
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "c.toml", server.base, {"paged": "feed/"}, db)
    first = monitor(config_path=str(config))["run"]  # page 1 only: stories 1-2
    assert first["articles_stored"] == 2
    run = backfill(feed="paged", config_path=str(config))["run"]
    assert run["entries_seen"] == 6 and run["entries_new"] == 4 and run["articles_stored"] == 4
    assert q(db, "SELECT count(*), count(DISTINCT url) FROM articles WHERE origin != 'seed'") == [(6, 6)]
    again = backfill(feed="paged", since="2024-01-03", config_path=str(config))["run"]
    assert again["articles_stored"] == 0
    assert [p for p, _ in server.seen if p.startswith("/feed/")].count("/feed/?paged=4") == 1


def test_rfc5005_archive_and_url_file(prefect_harness, tmp_path, server):
    def atom(entries: str, prev: str | None) -> bytes:
        link = f'<link rel="prev-archive" href="{prev}"/>' if prev else ""
        return (f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>a</id>{link}'
                f"{entries}</feed>").encode()

    def entry(n: int) -> str:
        return (f"<entry><id>tag:x,{n}</id><title>S{n}</title><link href='{server.base}/a/{n}'/>"
                f"<updated>2023-0{n}-01T00:00:00Z</updated></entry>")

    server.route("/atom.xml", lambda h: reply(h, 200, atom(entry(3) + entry(4), "/archive-1.xml")))
    server.route("/archive-1.xml", lambda h: reply(h, 200, atom(entry(1) + entry(2), None)))
    for n in range(1, 6):
        html = PAGES[n].read_bytes().replace(b"{{BASE_URL}}", b"https://ledger.example")
        server.route(f"/a/{n}", lambda h, html=html: reply(h, 200, html))
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "c.toml", server.base, {"atom": "atom.xml"}, db)
    run = backfill(feed="atom", since="2023-02-01", config_path=str(config))["run"]
    assert run["articles_stored"] == 3  # entries 2, 3, 4 (1 is before --since)
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# extra\n{server.base}/a/5\n{server.base}/a/4\n")
    run = backfill(urls=str(urls), config_path=str(config))["run"]
    assert run["entries_new"] == 1 and run["articles_stored"] == 1
    assert q(db, "SELECT count(*) FROM articles WHERE origin = 'backfill'") == [(4,)]
