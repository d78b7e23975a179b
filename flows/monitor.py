"""The ``monitor`` flow: one monitoring pass, feeds -> articles -> warehouse -> report.

Orchestration only: the work is done by ``flows.steps`` (network + CPU) and
``warehouse`` (DuckDB). All warehouse writes happen on the flow's thread, in
short transactions, so one process is the only writer and readers get in between.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from extractors.articles import entry_url
from extractors.errors import TransientError
from extractors.fetching import Fetcher
from extractors.records import Article, FeedEntry, FeedState, RunCounters, RunError
from extractors.seeds import load_seed_articles
from extractors.timing import StageClock
from flows.config import Settings, load_settings
from flows.progress import progress_reporter
from flows.publish import publish_report
from flows.steps import (
    FeedSpec,
    PageOutcome,
    PollOutcome,
    failed_poll,
    fetch_and_extract,
    next_feed_state,
    poll_feed,
    poll_row,
    warm_up,
)
from flows.storing import BatchResult, analyse, store_batch
from warehouse import queries, store
from warehouse.connection import write_connection
from warehouse.reports import RunReport, load_report


def _retry_transient(task_obj: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed with a TransientError."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False


@task(name="poll-feed", retries=2, retry_delay_seconds=[1, 4], cache_policy=NO_CACHE,
      retry_condition_fn=_retry_transient, task_run_name="poll-{feed.name}")
def poll_feed_task(fetcher: Fetcher, feed: FeedSpec, state: FeedState | None,
                   clock: StageClock | None = None) -> PollOutcome:
    with (clock or StageClock()).measure("poll"):
        return poll_feed(fetcher, feed, state)


@task(name="fetch-extract-batch", cache_policy=NO_CACHE,
      task_run_name="batch-{batch_no}")
def batch_task(fetcher: Fetcher, entries: Sequence[FeedEntry], batch_no: int, run_id: str,
               origin: str, pool: ProcessPoolExecutor | None, fetch_threads: int,
               clock: StageClock | None = None) -> list[PageOutcome]:
    return fetch_and_extract(fetcher, entries, run_id=run_id, origin=origin,
                             extract_pool=pool, fetch_threads=fetch_threads, clock=clock)


@dataclass
class _FeedProgress:
    """Per-feed bookkeeping until the feed's state can be written."""

    outcome: PollOutcome
    previous: FeedState | None
    new_entries: int = 0
    batches_left: int = 0
    transient_failures: int = 0
    written: bool = False


@dataclass
class PassResult:
    run_id: str
    report: RunReport | None
    counters: RunCounters = field(default_factory=RunCounters)


def ensure_seeds(settings: Settings, run_id: str | None = None) -> BatchResult:
    """Load the seed corpus into the warehouse (with relevance and events) if it is not
    there yet; returns what was added."""
    with write_connection(settings.warehouse_target) as con:
        have = {r[0] for r in con.execute(queries.SEED_IDS).fetchall()}
    seeds = [a for a in load_seed_articles() if a.article_id not in have]
    if not seeds:
        return BatchResult([])
    analysis = analyse(seeds, settings.dedup, settings.relevance.threshold)
    with write_connection(settings.warehouse_target) as con:
        return store_batch(con, seeds, analysis, settings.dedup, settings.relevance.threshold, run_id=run_id)


def select_new(outcomes: Sequence[PollOutcome], settings: Settings) -> list[FeedEntry]:
    """Entries not stored yet (by GUID or canonical URL), first occurrence only."""
    candidates = [e for o in outcomes for e in o.entries]
    with write_connection(settings.warehouse_target) as con:
        known_guids, known_urls = store.known_keys(
            con, [e.guid for e in candidates], [u for e in candidates if (u := entry_url(e))]
        )
    seen: set[str] = set()
    fresh: list[FeedEntry] = []
    for entry in candidates:
        url = entry_url(entry)
        if url is None or entry.guid in known_guids or url in known_urls or url in seen or entry.guid in seen:
            continue
        seen.update((url, entry.guid))
        fresh.append(entry)
    return fresh


def tally_page(counters: RunCounters, outcome: PageOutcome) -> None:
    if outcome.fetched:
        counters.articles_fetched += 1
    if outcome.extraction_failed:
        counters.extraction_failed += 1
    if outcome.error:
        counters.errors.append(outcome.error)


def run_pass(settings: Settings, *, run_id: str, flow_name: str = "monitor",
             trigger: str = "manual", parameters: dict[str, Any] | None = None,
             origin: str = "feed", parent_run_id: str | None = None) -> PassResult:
    """One monitoring pass inside a running flow. Returns the run's report."""
    logger = get_run_logger()
    counters = RunCounters()
    started = datetime.now(UTC)
    path = settings.warehouse_target
    with write_connection(path) as con:
        interrupted = store.start_run(con, run_id, flow_name, trigger, parameters or {}, started, parent_run_id)
        states = store.load_feed_states(con)
    for other in interrupted:
        counters.errors.append(RunError("run", f"run {other} was interrupted (its process is gone); marked failed"))
        logger.warning("run %s was interrupted; marked failed", other)
    status = "failed"
    try:
        added = ensure_seeds(settings, run_id)
        if added.inserted:
            logger.info("loaded %d seed articles (%d events)", len(added.inserted), added.events_added)
            counters.relevant_articles += added.relevant
            counters.events_added += added.events_added
        with ExitStack() as stack:
            fetcher = stack.enter_context(Fetcher(settings.fetch))
            _monitor_feeds(settings, fetcher, states, counters, run_id, origin, stack)
        status = "completed"
    except Exception as exc:
        counters.errors.append(RunError(stage="run", message=f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        report = finish_and_report(path, run_id, status, counters)
    return PassResult(run_id, report, counters)


def finish_and_report(target, run_id: str, status: str, counters: RunCounters) -> RunReport | None:
    """Write the run's final row, publish its report as Prefect artifacts, return it."""
    with write_connection(target) as con:
        with store.transaction(con):
            store.finish_run(con, run_id, status, counters, datetime.now(UTC))
        report = load_report(con, run_id)
    if report is not None:
        publish_report(report)
    return report


def _monitor_feeds(settings: Settings, fetcher: Fetcher, states: dict[str, FeedState],
                   counters: RunCounters, run_id: str, origin: str, stack: ExitStack) -> None:
    logger = get_run_logger()
    feeds = []
    for f in settings.enabled_feeds:
        state = states.get(f.name)
        if state is not None and state.disabled and state.url == f.url:
            counters.errors.append(RunError(
                "poll", f"feed is disabled after {state.consecutive_failures} consecutive failures; "
                f"not polled (newswatch feeds --enable {f.name})", f.name, f.url))
            continue
        feeds.append(FeedSpec(f.name, f.url))
    counters.feeds_total = len(feeds)
    futures = {}
    for feed in feeds:
        state = states.get(feed.name)
        conditional = state if state and state.url == feed.url else None
        futures[feed.name] = poll_feed_task.submit(fetcher, feed, conditional, counters.clock)
    # The extraction processes start (and import trafilatura) while the feeds are polled.
    pool = _start_pool(settings.run.extract_workers, stack) if feeds and settings.run.extract_workers > 1 else None
    progress: dict[str, _FeedProgress] = {}
    for feed in feeds:
        try:
            outcome = futures[feed.name].result()
        except Exception as exc:  # retries exhausted or unexpected crash: record and go on
            outcome = failed_poll(feed, exc)
        progress[feed.name] = _FeedProgress(outcome, states.get(feed.name))
        if outcome.status == "failed":
            counters.feeds_failed += 1
            counters.errors.append(RunError("poll", outcome.error or "failed", feed.name, feed.url))
            logger.warning("feed %s failed: %s", feed.name, outcome.error)
        elif outcome.status == "not_modified":
            counters.feeds_not_modified += 1
        else:
            counters.feeds_ok += 1
            if outcome.warning:
                counters.errors.append(RunError("parse", outcome.warning, feed.name, feed.url))
        counters.entries_seen += len(outcome.entries)
        unlinked = sum(1 for e in outcome.entries if entry_url(e) is None)
        if unlinked:
            counters.errors.append(RunError("parse", f"{unlinked} entries without a usable http(s) link skipped",
                                            feed.name, feed.url))
    new_entries = select_new([p.outcome for p in progress.values()], settings)
    counters.entries_new = len(new_entries)
    for entry in new_entries:
        progress[entry.feed_name].new_entries += 1
    size = settings.run.batch_size
    batches = [new_entries[i:i + size] for i in range(0, len(new_entries), size)]
    for batch in batches:
        for name in {e.feed_name for e in batch}:
            progress[name].batches_left += 1
    logger.info("%d feeds polled, %d entries, %d new, %d batches",
                len(feeds), counters.entries_seen, len(new_entries), len(batches))
    # Feeds with nothing new: their state and polls are written right away.
    write_results(settings, run_id, [], progress, counters, ready=[
        n for n, p in progress.items() if p.batches_left == 0])
    if not batches:
        return
    if len(new_entries) <= 1:
        pool = None  # one page: extract it here rather than ship it to another process
    fetch_threads = max(2, settings.fetch.per_host_concurrency * 4)
    batch_futures = [
        batch_task.submit(fetcher, batch, i, run_id, origin, pool, fetch_threads, counters.clock)
        for i, batch in enumerate(batches, start=1)
    ]
    # Batches run concurrently but are written in feed order, so the first
    # occurrence of a story is deterministically the original.
    report = stack.enter_context(progress_reporter(len(new_entries), "monitor"))
    processed = 0
    # When the writer falls behind, batches that are already done are written together (one
    # transaction, at most MAX_COALESCED of them), which saves the fixed cost of each write.
    i = 0
    while i < len(batches):
        group = [i]
        while (len(group) < MAX_COALESCED and group[-1] + 1 < len(batches)
               and _is_done(batch_futures[group[-1] + 1])):
            group.append(group[-1] + 1)
        articles: list[Article] = []
        ready: list[str] = []
        for j in group:
            articles += _collect(batch_futures[j], batches[j], j + 1, counters, progress, ready)
        write_results(settings, run_id, articles, progress, counters, ready)
        processed += sum(len(batches[j]) for j in group)
        report(processed, counters.articles_stored)
        logger.info("batches %d-%d/%d written: %d articles", group[0] + 1, group[-1] + 1, len(batches), len(articles))
        i = group[-1] + 1


MAX_COALESCED = 8


def _is_done(future: Any) -> bool:
    wrapped = getattr(future, "wrapped_future", None)
    return bool(wrapped is not None and wrapped.done())


def _collect(future: Any, batch: Sequence[FeedEntry], number: int, counters: RunCounters,
             progress: dict[str, _FeedProgress], ready: list[str]) -> list[Article]:
    """Wait for one batch; tally it; return its articles and add the feeds it completes to ``ready``."""
    try:
        outcomes = future.result()
    except Exception as exc:  # a crashed batch: its entries are retried next run
        outcomes = [PageOutcome(e, None, RunError("fetch", f"batch {number} crashed: {type(exc).__name__}: {exc}",
                                                  e.feed_name, e.link), transient=True) for e in batch]
    articles: list[Article] = []
    for outcome in outcomes:
        tally_page(counters, outcome)
        if outcome.transient:
            progress[outcome.entry.feed_name].transient_failures += 1
        if outcome.article is not None:
            articles.append(outcome.article)
    for name in sorted({e.feed_name for e in batch}):
        progress[name].batches_left -= 1
        if progress[name].batches_left == 0:
            ready.append(name)
    return articles


def write_results(settings: Settings, run_id: str, articles: list[Article],
           progress: dict[str, _FeedProgress], counters: RunCounters, ready: list[str]) -> None:
    """Write a batch plus the state/poll rows of the feeds it completes, in one transaction."""
    states, polls = [], []
    for name in sorted(ready):
        p = progress[name]
        if p.written:
            continue
        state = next_feed_state(p.previous, p.outcome, keep_validators=p.transient_failures > 0,
                                disable_after=settings.run.disable_after_failures)
        if state.disabled and not (p.previous and p.previous.disabled):
            counters.errors.append(RunError(
                "poll", f"feed disabled after {state.consecutive_failures} consecutive failures "
                f"(newswatch feeds --enable {name} brings it back)", name, state.url))
        states.append(state)
        polls.append(poll_row(run_id, p.outcome, p.new_entries))
        p.written = True
    if not (articles or states or polls):
        return
    analysis = analyse(articles, settings.dedup, settings.relevance.threshold, clock=counters.clock)
    started = time.perf_counter()
    with write_connection(settings.warehouse_target) as con:
        result = store_batch(con, articles, analysis, settings.dedup, settings.relevance.threshold,
                             states, polls, run_id)
    counters.clock.add("dedup", result.dedup_seconds)
    counters.clock.add("write", time.perf_counter() - started - result.dedup_seconds)
    inserted = result.inserted
    counters.relevant_articles += result.relevant
    counters.events_added += result.events_added
    kinds = Counter(a.duplicate_kind for a in inserted)
    counters.articles_stored += len(inserted)
    counters.duplicates_url += kinds["url"]
    counters.duplicates_text += kinds["text"]
    counters.duplicates_near += kinds["near"]


def _start_pool(workers: int, stack: ExitStack) -> ProcessPoolExecutor:
    """A pool of extraction processes, shut down with ``stack``; its processes start now."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    stack.callback(pool.shutdown, wait=True, cancel_futures=True)
    for _ in range(workers):
        pool.submit(warm_up)
    return pool


def current_run_id() -> str:
    """The Prefect flow-run id when inside a flow run, else a fresh UUID."""
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())


@flow(name="monitor", task_runner=ThreadPoolTaskRunner(max_workers=8), log_prints=True)
def monitor(config_path: str | None = None, trigger: str = "manual", shards: int | None = None) -> dict[str, Any]:
    """Poll every enabled feed once and store what is new; returns the run report.

    With ``shards`` > 1 (default: ``[run] shards``) the pass is split into shard runs of
    the ``monitor-shard`` deployment, which the work pool's workers share (see
    ``flows.sharding``); this run then waits and writes the combined report.
    """
    settings = load_settings(config_path)
    shards = settings.run.shards if shards is None else shards
    if shards > 1:
        from flows.sharding import run_sharded

        return run_sharded(settings, config_path, current_run_id(), trigger, shards)
    result = run_pass(settings, run_id=current_run_id(), trigger=trigger,
                      parameters={"config_path": config_path})
    return result.report.as_dict() if result.report else {"run_id": result.run_id}


def monitor_for(settings: Settings):
    """The monitor flow with its task runner sized from the settings."""
    return monitor.with_options(
        task_runner=ThreadPoolTaskRunner(max_workers=settings.run.feed_concurrency)
    )
