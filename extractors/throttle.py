"""Per-host politeness: at most N requests in flight per host, and a delay between starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class HostThrottle:
    """Thread-safe per-host concurrency limit and minimum delay between request starts."""

    def __init__(self, concurrency: int, delay_s: float) -> None:
        self._concurrency = max(1, concurrency)
        self._delay_s = max(0.0, delay_s)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    def _semaphore(self, host: str) -> threading.Semaphore:
        with self._lock:
            if host not in self._slots:
                self._slots[host] = threading.BoundedSemaphore(self._concurrency)
            return self._slots[host]

    def _reserve_start(self, host: str) -> float:
        """Return how long to wait before starting, and book the next start time."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + self._delay_s
            return start - now

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's slots, after waiting out the host's delay."""
        semaphore = self._semaphore(host)
        with semaphore:
            wait = self._reserve_start(host)
            if wait > 0:
                time.sleep(wait)
            yield
