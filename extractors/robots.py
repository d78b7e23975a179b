"""robots.txt, fetched once per origin and cached for the life of a Fetcher."""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from extractors.errors import PermanentError, TransientError
from extractors.records import FetchResult


class RobotsCache:
    """Answer "may we fetch this URL?" per RFC 9309, one robots.txt fetch per origin.

    A 4xx robots.txt (or an unreachable permanent error) allows everything; a 5xx
    or network failure raises TransientError so the article is retried later.
    """

    def __init__(self, fetch: Callable[[str], FetchResult], user_agent: str) -> None:
        self._fetch = fetch
        self._agent = user_agent.split("/", 1)[0].strip() or "*"
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}
        self._parsers: dict[str, RobotFileParser | None] = {}

    def _origin_lock(self, origin: str) -> threading.Lock:
        with self._lock:
            return self._origin_locks.setdefault(origin, threading.Lock())

    def _load(self, origin: str) -> RobotFileParser | None:
        try:
            result = self._fetch(f"{origin}/robots.txt")
        except PermanentError:
            return None
        if 500 <= result.status < 600:
            raise TransientError(f"robots.txt of {origin} answered HTTP {result.status}")
        if not 200 <= result.status < 300:
            return None
        parser = RobotFileParser()
        parser.parse(result.body.decode("utf-8", errors="replace").splitlines())
        return parser

    def allowed(self, url: str) -> bool:
        """Return True when robots.txt of the URL's origin lets our agent fetch it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._origin_lock(origin):
            if origin not in self._parsers:
                self._parsers[origin] = self._load(origin)
        parser = self._parsers[origin]
        return True if parser is None else parser.can_fetch(self._agent, url)
