"""The ``backfill`` flow: store older articles from sitemaps, archived or paged feeds,
or a file of URLs, bounded by publication date; idempotent with monitor runs."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from extractors.backfill_sources import archive_links, in_range, parse_sitemap, parse_url_file, wordpress_page
from extractors.errors import ConfigError, NewswatchError, PermanentError
from extractors.feeds import parse_feed
from extractors.fetching import Fetcher
from extractors.records import Article, FeedEntry, RunCounters, RunError
from flows.config import Settings, load_settings
from flows.monitor import batch_task, current_run_id, ensure_seeds, select_new, tally_page, write_results
from flows.progress import progress_reporter
from flows.publish import publish_report
from flows.steps import FeedSpec, PollOutcome
from warehouse import store
from warehouse.connection import write_connection
from warehouse.reports import load_report

MAX_SITEMAPS = 500


def parse_when(value: str | None, name: str, end_of_day: bool = False) -> datetime | None:
    """--since / --until as an aware datetime; a bare date means the start (or end) of that day."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--{name} {value!r} is not a date: use YYYY-MM-DD or an ISO timestamp") from exc
    if end_of_day and len(value) == 10:
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def sitemap_entries(fetcher: Fetcher, url: str, since: datetime | None, until: datetime | None,
                    errors: list[RunError]) -> list[FeedEntry]:
    """Pages of a sitemap (index) within the date range; sitemaps last modified before
    ``since`` are not opened."""
    queue, seen, pages = [url], set(), []
    while queue and len(seen) < MAX_SITEMAPS:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        try:
            parsed = parse_sitemap(fetcher.get(current).body, current)
        except NewswatchError as exc:
            errors.append(RunError("sitemap", str(exc), url=current))
            continue
        queue += [loc for loc, lastmod in parsed.children if since is None or lastmod is None or lastmod >= since]
        pages += [p for p in parsed.pages if in_range(p.published, since, until)]
    return pages


def feed_archive_entries(fetcher: Fetcher, feed: FeedSpec, since: datetime | None, until: datetime | None,
                         errors: list[RunError], max_pages: int) -> list[FeedEntry]:
    """Entries of a feed and its older pages: RFC 5005 prev-archive / next links, else
    WordPress ``?paged=N``, until a page adds nothing new or is older than ``since``."""
    entries: list[FeedEntry] = []
    seen_pages: set[str] = set()
    queue = [feed.url]
    wordpress = 1
    while queue and len(seen_pages) < max_pages:
        url = queue.pop(0)
        if url in seen_pages:
            continue
        seen_pages.add(url)
        try:
            parsed = parse_feed(fetcher.get(url).body, url, feed.name)
        except PermanentError as exc:
            if wordpress == 1 or url == feed.url:
                errors.append(RunError("backfill", str(exc), feed.name, url))
            continue  # a paged=N past the end answers 404 or an empty feed: done
        except NewswatchError as exc:
            errors.append(RunError("backfill", str(exc), feed.name, url))
            continue
        fresh = [e for e in parsed.entries if e.guid not in {x.guid for x in entries}]
        entries += [e for e in fresh if in_range(e.published, since, until)]
        older = [e for e in fresh if e.published and since and e.published < since]
        if not fresh or (older and len(older) == len(fresh)):
            break
        links = archive_links(list(parsed.links), url)
        if links:
            queue += links
        else:
            wordpress += 1
            queue.append(wordpress_page(feed.url, wordpress))
    return entries


def run_backfill(settings: Settings, run_id: str, entries: list[FeedEntry], counters: RunCounters,
                 since: datetime | None, until: datetime | None) -> None:
    """Fetch, extract and store the new entries in batches; pages dated outside the
    range are skipped after extraction."""
    counters.entries_seen = len(entries)
    fresh = select_new([PollOutcome(FeedSpec("backfill", ""), "ok", datetime.now(UTC), entries=tuple(entries))],
                        settings)
    counters.entries_new = len(fresh)
    size = settings.run.batch_size
    batches = [fresh[i:i + size] for i in range(0, len(fresh), size)]
    with ExitStack() as stack:
        fetcher = stack.enter_context(Fetcher(settings.fetch))
        pool = None
        if settings.run.extract_workers > 1 and len(fresh) > 1:
            pool = stack.enter_context(ProcessPoolExecutor(
                settings.run.extract_workers, mp_context=multiprocessing.get_context("spawn")))
        report = stack.enter_context(progress_reporter(len(fresh), "backfill"))
        futures = [batch_task.submit(fetcher, b, i, run_id, "backfill", pool, 8, counters.clock)
                   for i, b in enumerate(batches, 1)]
        done = 0
        for future, batch in zip(futures, batches, strict=True):
            articles: list[Article] = []
            for outcome in future.result():
                tally_page(counters, outcome)
                if outcome.article is not None and in_range(outcome.article.published_at, since, until):
                    articles.append(outcome.article)
            write_results(settings, run_id, articles, {}, counters, [])
            done += len(batch)
            report(done, counters.articles_stored)


@flow(name="backfill", log_prints=True)
def backfill(since: str | None = None, until: str | None = None, feed: str | None = None,
             urls: str | None = None, sitemap: str | None = None, config_path: str | None = None,
             trigger: str = "manual", max_pages: int = 50) -> dict[str, Any]:
    """Store older articles from the given sources, within [since, until]; returns the run report."""
    settings = load_settings(config_path)
    since_dt, until_dt = parse_when(since, "since"), parse_when(until, "until", end_of_day=True)
    if not (feed or urls or sitemap):
        raise ConfigError("backfill needs a source: --sitemap URL, --urls FILE or --feed NAME")
    feeds = {f.name: f for f in settings.feeds}
    if feed and feed not in feeds:
        raise ConfigError(f"--feed {feed!r} is not in [[feeds]] of {settings.source} (known: {', '.join(feeds)})")
    if urls and not Path(urls).is_file():
        raise ConfigError(f"--urls file {urls} not found")
    run_id = current_run_id()
    counters = RunCounters()
    params = {"since": since, "until": until, "feed": feed, "urls": urls, "sitemap": sitemap,
              "config_path": config_path}
    with write_connection(settings.warehouse_target) as con:
        store.start_run(con, run_id, "backfill", trigger, params, datetime.now(UTC))
    status = "failed"
    try:
        ensure_seeds(settings, run_id)
        entries: list[FeedEntry] = []
        with Fetcher(settings.fetch) as fetcher:
            if sitemap:
                entries += sitemap_entries(fetcher, sitemap, since_dt, until_dt, counters.errors)
            if feed:
                spec = FeedSpec(feed, feeds[feed].url)
                entries += feed_archive_entries(fetcher, spec, since_dt, until_dt, counters.errors, max_pages)
        if urls:
            entries += parse_url_file(Path(urls).read_text(encoding="utf-8"))
        get_run_logger().info("backfill: %d candidate entries", len(entries))
        run_backfill(settings, run_id, entries, counters, since_dt, until_dt)
        status = "completed"
    except Exception as exc:
        counters.errors.append(RunError(stage="backfill", message=f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        with write_connection(settings.warehouse_target) as con:
            with store.transaction(con):
                store.finish_run(con, run_id, status, counters, datetime.now(UTC))
            report = load_report(con, run_id)
        if report is not None:
            publish_report(report)
    return report.as_dict() if report else {"run_id": run_id}
