"""A small static site server for the offline demo and the tests.

Serves a directory on 127.0.0.1, replacing ``{{BASE_URL}}`` in text files with
the server's own base URL, with ETag / Last-Modified validators computed from
the file *before* substitution (so they survive a port change) and 304 answers
to conditional requests. Missing files are 404.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

TEXT_SUFFIXES = {".html", ".xml", ".atom", ".rdf", ".rss", ".txt"}
CONTENT_TYPES = {".atom": "application/atom+xml", ".rdf": "application/rdf+xml",
                 ".xml": "application/xml", ".rss": "application/rss+xml"}
PREFERRED_PORTS = range(8765, 8775)


class _Handler(BaseHTTPRequestHandler):
    server: SiteServer  # type: ignore[assignment]

    def log_message(self, *args: object) -> None:  # keep the demo output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        site: SiteServer = self.server
        site.record(self.path, dict(self.headers.items()))
        rel = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        target = (site.root / rel).resolve()
        if site.root not in target.parents and target != site.root or not target.is_file():
            self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
            return
        raw = target.read_bytes()
        etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'
        mtime = target.stat().st_mtime
        last_modified = formatdate(mtime, usegmt=True)
        if self.headers.get("If-None-Match") == etag or self._not_modified_since(mtime):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        body = raw
        if target.suffix in TEXT_SUFFIXES:
            body = raw.replace(b"{{BASE_URL}}", site.base_url.encode())
        ctype = CONTENT_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "text/plain"
        if ctype.startswith("text/") or ctype.endswith("xml"):
            ctype += "; charset=utf-8"
        self._send(200, body, ctype, {"ETag": etag, "Last-Modified": last_modified})

    def _not_modified_since(self, mtime: float) -> bool:
        since = self.headers.get("If-Modified-Since")
        if not since or self.headers.get("If-None-Match"):
            return False
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class SiteServer(ThreadingHTTPServer):
    """Serve ``root`` on 127.0.0.1; use as a context manager."""

    daemon_threads = True

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root).resolve()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @classmethod
    def on_stable_port(cls, root: Path) -> SiteServer:
        """Bind the first free port of a small fixed range (stable URLs across demo
        runs), or any free port if all are taken."""
        for port in PREFERRED_PORTS:
            try:
                return cls(root, port)
            except OSError:
                continue
        return cls(root, 0)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, headers))

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
