"""Hostile input and faults in one real monitor run: refused targets, odd content, broken
servers, malformed and malicious XML. The run completes and reports every case."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from extractors.errors import PermanentError
from extractors.feeds import parse_feed
from flows.monitor import monitor
from tests.conftest import reply
from tests.flows.conftest import write_config
from tests.flows.test_monitor_flow import q

ARTICLE = (Path(__file__).resolve().parents[2] / "examples" / "site" / "ledger" /
           "2016-moscow-truce-ends-four-day-war.html").read_bytes().replace(b"{{BASE_URL}}", b"https://x.example")
SUMMARY = "A summary of the story with enough words in it to be kept as the article text."


class Inside(ThreadingHTTPServer):
    """A server on 127.0.0.2 standing in for an internal service: it must see no request."""

    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.hits: list[str] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):  # noqa: N802
                outer.hits.append(self.path)
                reply(self, 200, b"internal secret")

        super().__init__(("127.0.0.2", port), H)


def _item(title: str, link: str | None, guid: str, date: str = "Mon, 01 Jan 2024 10:00:00 GMT",
          summary: str = SUMMARY) -> str:
    link_xml = f"<link>{link}</link>" if link else ""
    return f"<item><title>{title}</title>{link_xml}<guid isPermaLink=\"false\">{guid}</guid><pubDate>{date}</pubDate>" \
           f"<description>{summary}</description></item>"


def test_hostile_feed_run_completes_and_reports_everything(prefect_harness, tmp_path, server):
    inside_port = server.server_address[1]
    try:
        inside = Inside(inside_port)
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 on this machine")
    threading.Thread(target=inside.serve_forever, daemon=True).start()
    base = server.base

    def reset_mid_body(h):
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(b"<html><body>" + b"x" * 1000)
        h.wfile.flush()
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        h.connection.close()

    def slow_drip(h):
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(60):
            h.wfile.write(b"<p>")
            h.wfile.flush()
            time.sleep(0.1)

    flaky_calls = []

    def flaky_feed(h):
        flaky_calls.append(1)
        if len(flaky_calls) <= 2:
            reply(h, 503, b"busy")
        else:
            body = f'<rss version="2.0"><channel><title>F</title>{_item("Good", base + "/good", "f1")}</channel></rss>'
            reply(h, 200, body.encode(), {"Content-Type": "application/rss+xml"})

    server.route("/good", lambda h: reply(h, 200, ARTICLE))
    server.route("/dup", lambda h: reply(h, 200, ARTICLE.replace(b"Moscow", b"Kremlin")))
    server.route("/report.pdf", lambda h: reply(h, 200, b"%PDF-1.4 ...", {"Content-Type": "application/pdf"}))
    server.route("/empty", lambda h: reply(h, 200, b"<html><body><div id='app'></div></body></html>"))
    server.route("/broken-utf8", lambda h: reply(h, 200, ARTICLE.replace(b"Moscow", b"Mos\xff\xfe\x00cow")))
    server.route("/reset", reset_mid_body)
    server.route("/slow", slow_drip)
    items = "".join([
        _item("Metadata", "http://169.254.169.254/latest/meta-data/", "h1", summary="short"),
        _item("Internal", f"http://127.0.0.2:{inside_port}/secret", "h2", summary="short"),
        _item("PDF", base + "/report.pdf", "h3"),
        _item("Empty page", base + "/empty", "h4"),
        _item("Same guid first", base + "/good", "same"),
        _item("Same guid second", base + "/dup", "same"),
        _item("No link", None, "h6"),
        _item("From the future", base + "/broken-utf8", "h7", date="Mon, 01 Jan 2099 10:00:00 GMT"),
        _item("T" * 100_000, base + "/good?copy=1", "h8"),
        _item("Reset", base + "/reset", "h9"),
        _item("Slow", base + "/slow", "h10"),
        _item("Nul \x01 bytes", base + "/empty?nul=1", "h11", summary="Nul\x00 byte in a summary with words " * 3),
    ])
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>H</title>{items}</channel></rss>'
    server.route("/hostile.xml", lambda h: reply(h, 200, rss.encode("utf-8", "surrogatepass").replace(
        b"\x01", b""), {"Content-Type": "application/rss+xml"}))
    server.route("/flaky.xml", flaky_feed)
    xxe = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           f'<rss version="2.0"><channel><title>X</title>{_item("&x;", base + "/good?x=1", "x1")}</channel></rss>')
    server.route("/xxe.xml", lambda h: reply(h, 200, xxe.encode(), {"Content-Type": "application/rss+xml"}))

    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "c.toml", base, {"hostile": "hostile.xml", "flaky": "flaky.xml",
                                                       "xxe": "xxe.xml"}, db)
    config.write_text(config.read_text().replace("timeout_s = 5", "timeout_s = 2"))
    started = time.monotonic()
    run = monitor(config_path=str(config))["run"]
    assert run["status"] == "completed"
    assert time.monotonic() - started < 120
    messages = " | ".join(f"{e['stage']}:{e['url']}:{e['message']}" for e in run["errors"])
    assert "169.254.169.254" in messages and "refused" in messages
    assert f"127.0.0.2:{inside_port}/secret" in messages
    assert inside.hits == []  # the internal server saw nothing
    assert "not an HTML page (application/pdf)" in messages
    assert "without a usable http(s) link" in messages
    assert "/reset" in messages and "/slow" in messages and "timed out" in messages
    assert len(flaky_calls) == 3 and run["feeds_failed"] == 0  # 503, 503, then retried into success
    rows = dict(q(db, "SELECT guid, extraction FROM articles WHERE origin = 'feed'"))
    assert rows["h4"] == "feed_summary"  # page with no article: the feed text is kept
    assert "h9" not in rows and "h10" not in rows  # transient failures: retried next run
    assert q(db, "SELECT count(*) FROM articles WHERE guid = 'same'") == [(1,)]
    # A feed date in 2099 is ignored; the page's own date is used instead.
    assert q(db, "SELECT year(published_at) FROM articles WHERE guid = 'h7'") == [(2016,)]
    assert q(db, "SELECT max(length(title)) FROM articles")[0][0] <= 1000
    assert q(db, "SELECT count(*) FROM articles WHERE contains(text, chr(0)) OR contains(title, chr(0))") == [(0,)]
    texts = [r[0] for r in q(db, "SELECT coalesce(title, '') || text FROM articles WHERE guid = 'x1'")]
    assert texts and all("root:" not in t for t in texts)  # /etc/passwd never read


def test_billion_laughs_is_bounded():
    entities = "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                       for i in range(1, 10))
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + entities
              + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>a</title>'
              "<link>http://x.test/a</link></item></channel></rss>")
    started = time.monotonic()
    try:
        feed = parse_feed(laughs.encode(), "http://x.test/feed", "lol")
        assert len(feed.title) < 1_000_000
    except PermanentError:
        pass
    assert time.monotonic() - started < 10
