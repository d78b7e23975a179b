"""Time spent per pipeline stage, summed over the threads and processes doing it.

Stages overlap (feeds are polled concurrently, batches are fetched while others
are written, pages are extracted in a process pool), so the sums can exceed the
run's wall time; they say where the work goes, not when.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("poll", "fetch", "extract", "dedup", "classify", "write")


class StageClock:
    """A thread-safe accumulator of seconds per stage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds = dict.fromkeys(STAGES, 0.0)

    def add(self, stage: str, seconds: float) -> None:
        if stage not in self._seconds:
            raise ValueError(f"unknown stage {stage!r} (stages: {', '.join(STAGES)})")
        with self._lock:
            self._seconds[stage] += max(0.0, seconds)

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to ``stage``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._seconds)
