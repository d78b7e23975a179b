"""The steps of a monitoring pass as plain functions (no Prefect, no DuckDB).

Flows wrap these in tasks; tests call them directly.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from extractors.articles import build_article
from extractors.errors import NewswatchError, PermanentError, TransientError
from extractors.extract import extract_article
from extractors.feeds import parse_feed
from extractors.fetching import Fetcher
from extractors.records import (
    Article,
    ExtractedArticle,
    ExtractionFailure,
    FeedEntry,
    FeedPoll,
    FeedState,
    RunError,
)
from extractors.timing import StageClock

MAX_BACKOFF = timedelta(hours=24)


@dataclass(frozen=True)
class FeedSpec:
    name: str
    url: str


@dataclass(frozen=True)
class PollOutcome:
    """What one feed poll gave: entries, or 304, or a failure with its reason."""

    feed: FeedSpec
    status: str  # 'ok' | 'not_modified' | 'failed'
    polled_at: datetime
    http_status: int | None = None
    entries: tuple[FeedEntry, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    bytes: int = 0
    elapsed_ms: int = 0
    error: str | None = None
    warning: str | None = None


@dataclass(frozen=True)
class PageOutcome:
    """One entry after fetch + extraction: an Article, or the reason there is none."""

    entry: FeedEntry
    article: Article | None
    error: RunError | None = None
    transient: bool = False
    extraction_failed: bool = False
    fetched: bool = False


def poll_feed(fetcher: Fetcher, feed: FeedSpec, state: FeedState | None) -> PollOutcome:
    """Fetch one feed conditionally and parse it.

    Returns an outcome for success, 304 and permanent failures; raises
    TransientError (so a task retry can help) for timeouts, 5xx and the like.
    """
    polled_at = datetime.now(UTC)
    try:
        result = fetcher.get(
            feed.url,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
        )
    except PermanentError as exc:
        return PollOutcome(feed, "failed", polled_at, http_status=exc.status, error=str(exc))
    if result.not_modified:
        return PollOutcome(feed, "not_modified", polled_at, http_status=304,
                           etag=state.etag if state else None,
                           last_modified=state.last_modified if state else None,
                           elapsed_ms=result.elapsed_ms)
    common = dict(http_status=result.status, bytes=len(result.body), elapsed_ms=result.elapsed_ms)
    try:
        parsed = parse_feed(result.body, result.final_url, feed.name,
                            result.headers.get("content-type"))
    except PermanentError as exc:
        return PollOutcome(feed, "failed", polled_at, error=str(exc), **common)
    return PollOutcome(
        feed, "ok", polled_at,
        entries=parsed.entries,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        warning=f"feed has parser complaints but was used: {parsed.bozo_message}"
        if parsed.bozo_message else None,
        **common,
    )


def failed_poll(feed: FeedSpec, exc: BaseException) -> PollOutcome:
    """Outcome of a poll whose retries were exhausted (or that crashed)."""
    return PollOutcome(feed, "failed", datetime.now(UTC), http_status=getattr(exc, "status", None),
                       error=str(exc) or type(exc).__name__)


def next_feed_state(previous: FeedState | None, outcome: PollOutcome,
                    keep_validators: bool = False, disable_after: int = 0) -> FeedState:
    """Return the feed state to store after ``outcome``.

    ``keep_validators`` keeps the previous ETag/Last-Modified (used when some new
    entries could not be stored yet, so the next poll re-reads the whole feed).
    Failing feeds get an exponential ``next_poll_at`` back-off, and are disabled
    after ``disable_after`` consecutive failures (0: never).
    """
    prev = previous or FeedState(name=outcome.feed.name, url=outcome.feed.url)
    if outcome.status == "failed":
        failures = prev.consecutive_failures + 1
        backoff = min(timedelta(minutes=15) * 2 ** (failures - 1), MAX_BACKOFF)
        return dataclasses.replace(
            prev, url=outcome.feed.url, last_polled_at=outcome.polled_at, last_status="failed",
            last_error=outcome.error, consecutive_failures=failures,
            next_poll_at=outcome.polled_at + backoff,
            disabled=prev.disabled or (disable_after > 0 and failures >= disable_after),
        )
    etag, modified = outcome.etag, outcome.last_modified
    if keep_validators or outcome.status == "not_modified":
        etag, modified = prev.etag, prev.last_modified
    # A feed that moved (new URL in config) must not send the old validators.
    if prev.url != outcome.feed.url and outcome.status == "ok" and keep_validators:
        etag, modified = None, None
    return FeedState(
        name=outcome.feed.name, url=outcome.feed.url, etag=etag, last_modified=modified,
        last_polled_at=outcome.polled_at, last_status=outcome.status, last_error=None,
        consecutive_failures=0, next_poll_at=None,
    )


def poll_row(run_id: str, outcome: PollOutcome, new_entries: int) -> FeedPoll:
    """The ``feed_polls`` row of an outcome."""
    return FeedPoll(
        run_id=run_id, feed_name=outcome.feed.name, polled_at=outcome.polled_at,
        http_status=outcome.http_status, not_modified=outcome.status == "not_modified",
        entries=len(outcome.entries), new_entries=new_entries, bytes=outcome.bytes,
        elapsed_ms=outcome.elapsed_ms, error=outcome.error,
    )


def warm_up() -> None:
    """Run in a new extraction process before any page arrives: importing this module
    (trafilatura, lxml) is what makes a process ready."""


def _extract_job(job: tuple[bytes, str]) -> tuple[ExtractedArticle | ExtractionFailure, float]:
    """Extract one page (in a pool process); returns the result and the seconds it took."""
    html, url = job
    start = time.perf_counter()
    result = extract_article(html, url)
    return result, time.perf_counter() - start


def fetch_and_extract(
    fetcher: Fetcher,
    entries: Sequence[FeedEntry],
    *,
    run_id: str,
    origin: str,
    extract_pool: Executor | None,
    fetch_threads: int = 8,
    clock: StageClock | None = None,
) -> list[PageOutcome]:
    """Fetch every entry's page (threads), extract them (``extract_pool``, processes),
    and return one PageOutcome per entry, in order.

    Fetch failures fall back to the feed's content/summary when the failure is
    permanent (404, refused, robots); transient failures store nothing so the
    entry is retried on the next run.
    """

    clock = clock or StageClock()

    def fetch(entry: FeedEntry):
        try:
            with clock.measure("fetch"):
                result = fetcher.get(entry.link, check_robots=True)
        except NewswatchError as exc:
            return None, exc
        ctype = result.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and not (ctype.endswith(("html", "xml")) or ctype.startswith("text/")):
            return None, PermanentError(f"skipped {entry.link}: not an HTML page ({ctype})")
        return result, None

    with ThreadPoolExecutor(max_workers=max(1, fetch_threads)) as threads:
        fetched = list(threads.map(fetch, entries))
    jobs = [(res.body, res.final_url) for res, _ in fetched if res is not None]
    if extract_pool is not None and len(jobs) > 1:
        chunk = max(1, len(jobs) // 8)
        timed = list(extract_pool.map(_extract_job, jobs, chunksize=chunk))
    else:
        timed = [_extract_job(job) for job in jobs]
    clock.add("extract", sum(seconds for _, seconds in timed))
    extracted = iter([result for result, _ in timed])
    now = datetime.now(UTC)
    outcomes: list[PageOutcome] = []
    for entry, (res, exc) in zip(entries, fetched, strict=True):
        if res is None:
            assert exc is not None
            transient = isinstance(exc, TransientError)
            error = RunError(stage="fetch", message=str(exc), feed=entry.feed_name, url=entry.link)
            if transient:
                outcomes.append(PageOutcome(entry, None, error, transient=True))
                continue
            failure = ExtractionFailure(f"page not fetched: {exc}")
            article = build_article(entry, origin=origin, run_id=run_id, fetched_at=now,
                                    final_url=None, extraction=failure)
            outcomes.append(PageOutcome(entry, article, error, extraction_failed=True))
            continue
        extraction = next(extracted)
        article = build_article(entry, origin=origin, run_id=run_id, fetched_at=now,
                                final_url=res.final_url, extraction=extraction)
        failed = isinstance(extraction, ExtractionFailure)
        error = None
        if failed and article is None:
            error = RunError(stage="extract", message=f"no text: {extraction.reason}",
                             feed=entry.feed_name, url=entry.link)
        outcomes.append(PageOutcome(entry, article, error, extraction_failed=failed, fetched=True))
    return outcomes
