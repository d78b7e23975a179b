"""Fetching over real loopback HTTP: caps, timeouts, redirects, refusals, politeness."""

from __future__ import annotations

import dataclasses
import gzip
import time

import pytest

from extractors.errors import (
    PermanentError,
    RefusedAddressError,
    RobotsDisallowedError,
    TooLargeError,
    TransientError,
)
from extractors.fetching import Fetcher
from tests.conftest import reply


def test_sends_user_agent_and_returns_body(server, fetch_settings):
    url = server.route("/a", lambda h: reply(h, 200, b"hello"))
    with Fetcher(fetch_settings) as f:
        result = f.get(url)
    assert result.status == 200 and result.body == b"hello"
    assert server.seen[-1][1]["User-Agent"] == "newswatch-test/1.0"


def test_conditional_headers_and_304(server, fetch_settings):
    def handler(h):
        if h.headers.get("If-None-Match") == '"v1"':
            reply(h, 304)
        else:
            reply(h, 200, b"<rss/>", {"ETag": '"v1"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})

    url = server.route("/feed", handler)
    with Fetcher(fetch_settings) as f:
        first = f.get(url)
        second = f.get(url, etag=first.headers["etag"], last_modified=first.headers["last-modified"])
    assert first.status == 200
    assert second.not_modified and second.body == b""
    headers = server.seen[-1][1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_500_is_transient_and_404_permanent(server, fetch_settings):
    url500 = server.route("/500", lambda h: reply(h, 500, b"boom"))
    with Fetcher(fetch_settings) as f:
        with pytest.raises(TransientError, match="HTTP 500") as info:
            f.get(url500)
        assert info.value.status == 500
        with pytest.raises(PermanentError, match="HTTP 404"):
            f.get(server.url("/nowhere"))


def test_read_timeout_is_transient(server, fetch_settings):
    def slow(h):
        time.sleep(2.5)
        reply(h, 200, b"late")

    url = server.route("/slow", slow)
    settings = dataclasses.replace(fetch_settings, timeout_s=1.0, connect_timeout_s=1.0)
    started = time.monotonic()
    with Fetcher(settings) as f, pytest.raises(TransientError, match="timed out"):
        f.get(url)
    assert time.monotonic() - started < 2.4


def test_total_deadline_on_trickling_body(server, fetch_settings):
    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Length", "10000")
        h.end_headers()
        for _ in range(100):
            h.wfile.write(b"x" * 100)
            h.wfile.flush()
            time.sleep(0.05)

    url = server.route("/trickle", trickle)
    settings = dataclasses.replace(fetch_settings, timeout_s=1.0)
    with Fetcher(settings) as f, pytest.raises(TransientError, match="total time"):
        f.get(url)


def test_oversized_body_declared_and_streamed(server, fetch_settings):
    big = b"x" * (fetch_settings.max_bytes + 10)
    declared = server.route("/declared", lambda h: reply(h, 200, big))

    def chunked(h):
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for _ in range(30):
            piece = b"y" * 10_000
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        h.wfile.write(b"0\r\n\r\n")

    streamed = server.route("/chunked", chunked)
    with Fetcher(fetch_settings) as f:
        with pytest.raises(TooLargeError, match="Content-Length"):
            f.get(declared)
        with pytest.raises(TooLargeError, match="max_bytes"):
            f.get(streamed)


def test_gzip_is_decoded_and_bomb_is_capped(server, fetch_settings):
    small = gzip.compress(b"<p>fine</p>")
    bomb = gzip.compress(b"\0" * (fetch_settings.max_bytes * 20))
    assert len(bomb) < fetch_settings.max_bytes  # small on the wire, huge decoded
    ok = server.route("/gz", lambda h: reply(h, 200, small, {"Content-Encoding": "gzip"}))
    boom = server.route("/bomb", lambda h: reply(h, 200, bomb, {"Content-Encoding": "gzip"}))
    with Fetcher(fetch_settings) as f:
        assert f.get(ok).body == b"<p>fine</p>"
        with pytest.raises(TooLargeError, match="decompressed"):
            f.get(boom)


def test_redirects_followed_loop_and_limit(server, fetch_settings):
    server.route("/r1", lambda h: reply(h, 301, headers={"Location": "/r2"}))
    server.route("/r2", lambda h: reply(h, 302, headers={"Location": "/final"}))
    server.route("/final", lambda h: reply(h, 200, b"done"))
    server.route("/loop1", lambda h: reply(h, 302, headers={"Location": "/loop2"}))
    server.route("/loop2", lambda h: reply(h, 302, headers={"Location": "/loop1"}))
    for i in range(6):
        server.route(f"/hop{i}", lambda h, i=i: reply(h, 302, headers={"Location": f"/hop{i + 1}"}))
    with Fetcher(fetch_settings) as f:
        result = f.get(server.url("/r1"))
        assert result.body == b"done" and result.final_url == server.url("/final")
        with pytest.raises(PermanentError, match="redirect loop"):
            f.get(server.url("/loop1"))
        with pytest.raises(PermanentError, match="too many redirects"):
            f.get(server.url("/hop0"))


def test_refuses_private_addresses_by_default(server, fetch_settings):
    url = server.route("/a", lambda h: reply(h, 200, b"secret"))
    strict = dataclasses.replace(fetch_settings, private_allowlist=[])
    with Fetcher(strict) as f, pytest.raises(RefusedAddressError, match="private_allowlist"):
        f.get(url)
    assert server.seen == []  # refused before any request was sent
    with Fetcher(dataclasses.replace(strict, allow_private_networks=True)) as f:
        assert f.get(url).body == b"secret"


def test_redirect_to_refused_address_is_refused(server, fetch_settings):
    # Allow only 127.0.0.1; the redirect goes to 127.0.0.2 (also loopback, not allowed).
    port = server.server_address[1]
    url = server.route("/jump", lambda h: reply(h, 302, headers={"Location": f"http://127.0.0.2:{port}/x"}))
    server.route("/x", lambda h: reply(h, 200, b"inside"))
    with Fetcher(fetch_settings) as f, pytest.raises(RefusedAddressError, match="127.0.0.2"):
        f.get(url)
    assert [p for p, _ in server.seen] == ["/jump"]


def test_robots_txt_is_respected_and_cached(server, fetch_settings):
    server.route("/robots.txt", lambda h: reply(h, 200, b"User-agent: *\nDisallow: /private/\n",
                                                {"Content-Type": "text/plain"}))
    server.route("/private/a", lambda h: reply(h, 200, b"no"))
    server.route("/public/a", lambda h: reply(h, 200, b"yes"))
    with Fetcher(fetch_settings) as f:
        assert f.get(server.url("/public/a"), check_robots=True).body == b"yes"
        with pytest.raises(RobotsDisallowedError):
            f.get(server.url("/private/a"), check_robots=True)
        f.get(server.url("/public/a"), check_robots=True)
    assert [p for p, _ in server.seen].count("/robots.txt") == 1


def test_robots_missing_allows_everything(server, fetch_settings):
    url = server.route("/page", lambda h: reply(h, 200, b"ok"))
    with Fetcher(fetch_settings) as f:
        assert f.get(url, check_robots=True).body == b"ok"


def test_per_host_delay_spaces_requests(server, fetch_settings):
    url = server.route("/a", lambda h: reply(h, 200, b"ok"))
    settings = dataclasses.replace(fetch_settings, per_host_delay_s=0.3, respect_robots_txt=False)
    started = time.monotonic()
    with Fetcher(settings) as f:
        for _ in range(3):
            f.get(url)
    assert time.monotonic() - started >= 0.6


def test_connection_refused_is_transient(fetch_settings):
    with Fetcher(fetch_settings) as f, pytest.raises(TransientError, match="connection failed"):
        f.get("http://127.0.0.1:9/")


def test_non_http_scheme_is_permanent(fetch_settings):
    with Fetcher(fetch_settings) as f, pytest.raises(PermanentError, match="http"):
        f.get("ftp://example.org/feed")
