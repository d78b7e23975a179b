"""Shared fixtures: real loopback HTTP servers, fetch settings, corpora paths."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from extractors.fetching import FetchSettings

ROOT = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("NEWSWATCH_CORPORA", ROOT.parent / "shared" / "corpora"))

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def corpus(name: str) -> Path:
    """Path of a shared corpus, or skip the test with the reason."""
    path = CORPORA / name
    if not path.is_dir():
        pytest.skip(f"shared corpus {path} is not present on this machine")
    return path


Handler = Callable[[BaseHTTPRequestHandler], None]


class RouteServer(ThreadingHTTPServer):
    """A loopback HTTP server whose paths are answered by Python callables."""

    daemon_threads = True

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        server = self

        class _H(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.seen.append((self.path, dict(self.headers.items())))
                handler = server.routes.get(self.path.split("?")[0])
                if handler is None:
                    reply(self, 404, b"not found")
                    return
                try:
                    handler(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        super().__init__(("127.0.0.1", 0), _H)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)


def reply(h: BaseHTTPRequestHandler, status: int, body: bytes = b"",
          headers: dict[str, str] | None = None) -> None:
    """Send a complete response from a route handler."""
    h.send_response(status)
    headers = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
    if "Content-Length" not in headers:
        headers["Content-Length"] = str(len(body))
    for k, v in headers.items():
        h.send_header(k, v)
    h.end_headers()
    if body:
        h.wfile.write(body)


@pytest.fixture
def server() -> Iterator[RouteServer]:
    srv = RouteServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def fetch_settings() -> FetchSettings:
    """Fast, loopback-allowed settings for tests."""
    return FetchSettings(
        user_agent="newswatch-test/1.0",
        timeout_s=3.0,
        connect_timeout_s=2.0,
        max_bytes=200_000,
        max_redirects=3,
        per_host_concurrency=4,
        per_host_delay_s=0.0,
        respect_robots_txt=True,
        private_allowlist=["127.0.0.1"],
    )
