"""HTTP fetching: one client factory and a guarded, capped, polite GET.

Every request goes through :class:`Fetcher.get`, which follows redirects itself
so each hop is checked against the address policy, streams the body under a
byte cap, decompresses gzip/deflate under the same cap, enforces a total
deadline, and classifies failures as transient or permanent.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from extractors.errors import (
    PermanentError,
    RobotsDisallowedError,
    TooLargeError,
    TransientError,
)
from extractors.netguard import AddressPolicy, parse_allowlist
from extractors.records import FetchResult
from extractors.robots import RobotsCache
from extractors.throttle import HostThrottle

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchSettings:
    """The ``[fetch]`` section of the configuration."""

    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
    timeout_s: float = 20.0
    connect_timeout_s: float = 10.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    per_host_concurrency: int = 2
    per_host_delay_s: float = 1.0
    respect_robots_txt: bool = True
    allow_private_networks: bool = False
    private_allowlist: list[str] = field(default_factory=list)


def make_client(settings: FetchSettings, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """Return the one httpx client configuration newswatch uses.

    Redirects are not followed by the client (``Fetcher`` follows them so it can
    check each hop). ``transport`` lets tests inject one.
    """
    timeout = httpx.Timeout(
        settings.timeout_s, connect=min(settings.connect_timeout_s, settings.timeout_s)
    )
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
    return httpx.Client(
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        headers={
            "User-Agent": settings.user_agent,
            "Accept-Encoding": "gzip, deflate",
        },
        transport=transport,
        trust_env=False,
    )


class _CappedDecoder:
    """Decode gzip/deflate/identity bodies chunk by chunk, never beyond ``cap`` bytes."""

    def __init__(self, encoding: str, cap: int, url: str) -> None:
        self._cap = cap
        self._url = url
        self._size = 0
        self._parts: list[bytes] = []
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            # 47 = auto-detect gzip or zlib header; raw deflate is retried below.
            self._zlib = zlib.decompressobj(47)
            self._raw_deflate = encoding == "deflate"
        else:
            raise PermanentError(f"{url}: unsupported Content-Encoding {encoding!r}")

    def _append(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._cap:
            raise TooLargeError(
                f"{self._url}: decompressed body exceeds max_bytes={self._cap} "
                "(raise [fetch] max_bytes to accept it)"
            )
        self._parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._append(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._zlib.decompress(data, self._cap - self._size + 1)
            except zlib.error as exc:
                if self._raw_deflate and self._size == 0 and not self._parts:
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._raw_deflate = False
                    continue
                raise PermanentError(f"{self._url}: corrupt compressed body: {exc}") from exc
            self._append(out)
            data = self._zlib.unconsumed_tail

    def result(self) -> bytes:
        if self._zlib is not None:
            self._append(self._zlib.flush())
        return b"".join(self._parts)


class Fetcher:
    """Guarded GETs with per-host politeness and an optional robots.txt check."""

    def __init__(self, settings: FetchSettings, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self.client = make_client(settings, transport)
        self.policy = AddressPolicy(
            allow_private_networks=settings.allow_private_networks,
            allowlist=parse_allowlist(settings.private_allowlist),
        )
        self.throttle = HostThrottle(settings.per_host_concurrency, settings.per_host_delay_s)
        self.robots = RobotsCache(self._fetch_robots, settings.user_agent)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fetch_robots(self, url: str) -> FetchResult:
        return self.get(url, check_robots=False, accept_status=range(200, 600))

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        check_robots: bool = False,
        accept_status: range | None = None,
    ) -> FetchResult:
        """GET ``url`` and return the final response (2xx, or 304 when conditional).

        Raises TransientError (timeouts, connection errors, 429, 5xx),
        PermanentError (4xx, refused address, too large, redirect loop, bad URL),
        RobotsDisallowedError when robots.txt forbids the URL.
        ``accept_status`` returns those statuses instead of raising.
        """
        if check_robots and self.settings.respect_robots_txt and not self.robots.allowed(url):
            raise RobotsDisallowedError(f"robots.txt of {urlsplit(url).netloc} disallows {url}")
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        deadline = started + self.settings.timeout_s
        seen: set[str] = set()
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            if current in seen:
                raise PermanentError(f"redirect loop at {current} (started from {url})")
            seen.add(current)
            status, resp_headers, body, location = self._exchange(current, headers, deadline)
            if status in REDIRECT_STATUSES and location:
                current = urljoin(current, location)
                continue
            elapsed_ms = int((time.monotonic() - started) * 1000)
            result = FetchResult(url, current, status, resp_headers, body, elapsed_ms)
            if status == 304 or 200 <= status < 300:
                return result
            if accept_status is not None and status in accept_status:
                return result
            raise _status_error(status, url, current)
        raise PermanentError(
            f"too many redirects (> {self.settings.max_redirects}) from {url}; "
            "raise [fetch] max_redirects if this is expected"
        )

    def _exchange(
        self, url: str, headers: dict[str, str], deadline: float
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        """One request/response, no redirects. Returns status, headers, body, Location."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentError(f"cannot fetch {url!r}: only absolute http(s) URLs are supported")
        self.policy.check_url(url)
        try:
            with self.throttle.slot(parts.hostname):
                with self.client.stream("GET", url, headers=headers) as response:
                    self._check_peer(response, url)
                    status = response.status_code
                    resp_headers = {k.lower(): v for k, v in response.headers.items()}
                    location = resp_headers.get("location")
                    if status in REDIRECT_STATUSES or status == 304 or status >= 400:
                        return status, resp_headers, b"", location
                    body = self._read_body(response, url, deadline)
                    return status, resp_headers, body, location
        except httpx.TimeoutException as exc:
            raise TransientError(f"timed out fetching {url}: {type(exc).__name__}") from exc
        except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError,
                httpx.WriteError) as exc:
            raise TransientError(f"connection failed for {url}: {exc or type(exc).__name__}") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            raise PermanentError(f"cannot fetch {url}: {exc}") from exc
        except (httpx.HTTPError, OSError) as exc:  # resets, half-closed sockets, odd transport errors
            raise TransientError(f"connection failed for {url}: {type(exc).__name__}: {exc}") from exc

    def _check_peer(self, response: httpx.Response, url: str) -> None:
        stream = response.extensions.get("network_stream")
        if stream is None:
            return
        try:
            peer = stream.get_extra_info("server_addr")
        except OSError as exc:
            raise TransientError(f"connection to {url} closed before it could be checked: {exc}") from exc
        if peer:
            self.policy.check_address(str(peer[0]), url)

    def _read_body(self, response: httpx.Response, url: str, deadline: float) -> bytes:
        cap = self.settings.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise TooLargeError(
                f"{url}: Content-Length {declared} exceeds max_bytes={cap} "
                "(raise [fetch] max_bytes to accept it)"
            )
        decoder = _CappedDecoder(response.headers.get("content-encoding", ""), cap, url)
        received = 0
        for chunk in response.iter_raw():
            received += len(chunk)
            if received > cap:
                raise TooLargeError(
                    f"{url}: body exceeds max_bytes={cap} (raise [fetch] max_bytes to accept it)"
                )
            if time.monotonic() > deadline:
                raise TransientError(
                    f"timed out fetching {url}: total time over timeout_s={self.settings.timeout_s}"
                )
            decoder.feed(chunk)
        return decoder.result()


def _status_error(status: int, url: str, final_url: str) -> Exception:
    where = url if url == final_url else f"{url} (redirected to {final_url})"
    if status == 429 or status >= 500:
        return TransientError(f"HTTP {status} from {where}", status=status)
    return PermanentError(f"HTTP {status} from {where}", status=status)
