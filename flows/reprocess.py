"""The ``reprocess`` flow: recompute stored decisions after a rule or threshold change.

Stages: ``dedup`` (duplicate decisions and the near-duplicate index) and
``classify`` (relevance and events, under the current ``classifier_version``);
``all`` runs dedup, then classify.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger

from extractors.dedup import resolve_duplicates
from extractors.errors import ConfigError
from extractors.neardup import band_keys
from extractors.records import RunCounters, RunError
from flows.config import Settings, load_settings
from flows.monitor import current_run_id, ensure_seeds
from flows.publish import publish_report
from flows.storing import analyse, compute_signatures
from warehouse import nearindex, store
from warehouse.connection import write_connection
from warehouse.reports import load_report

STAGES = ("dedup", "classify", "all")
AVAILABLE = ("dedup", "classify")
CHUNK = 500


def check_stage(stage: str) -> tuple[str, ...]:
    """Return the stages to run for ``stage``; raises ConfigError for an unknown or unavailable one."""
    if stage not in STAGES:
        raise ConfigError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}")
    return AVAILABLE if stage == "all" else (stage,)


def recompute_dedup(settings: Settings, since: datetime | None, counters: RunCounters) -> None:
    """Re-decide duplicates of the articles stored since ``since`` (all when None).

    One transaction: the index entries and decisions of those articles are
    cleared, then they are decided again in order (seeds first, then as stored),
    each against everything before it. Rerunning gives the same result.
    """
    logger = get_run_logger()
    with write_connection(settings.warehouse_target) as con, store.transaction(con):
        ids = store.dedup_order(con, since)
        nearindex.remove_articles(con, ids)
        store.mark_pending(con, ids)
        for start in range(0, len(ids), CHUNK):
            chunk = store.articles_by_ids(con, ids[start:start + CHUNK])
            chunk = [dataclasses.replace(a, duplicate_of=None, duplicate_kind=None, similarity=None)
                     for a in chunk]
            signatures = compute_signatures(chunk, settings.dedup)
            keys = [k for s in signatures.values() for k in band_keys(s)]
            bands = nearindex.lookup_bands(con, keys)
            decided, entries = resolve_duplicates(
                chunk, signatures,
                originals_by_url=store.originals_by_url(con, [a.canonical_url for a in chunk]),
                originals_by_hash=store.originals_by_hash(con, [a.content_hash for a in chunk]),
                stored_bands=bands,
                stored_signatures=nearindex.lookup_signatures(con, [d for v in bands.values() for d in v]),
                settings=settings.dedup,
            )
            store.apply_decisions(con, decided)
            nearindex.add_entries(con, entries)
            logger.info("dedup: %d/%d articles re-decided", min(start + CHUNK, len(ids)), len(ids))
        counters.articles_reprocessed = max(counters.articles_reprocessed, len(ids))
        url, text, near = store.duplicate_counts(con, ids)
    counters.duplicates_url, counters.duplicates_text, counters.duplicates_near = url, text, near


def recompute_classify(settings: Settings, since: datetime | None, counters: RunCounters) -> None:
    """Re-score relevance and replace the events of the articles stored since ``since``.

    Chunk by chunk: the CPU work happens outside the writer lock, then each chunk's
    old events are deleted and the new ones inserted in one transaction, so every
    article's events are replaced atomically and none is duplicated.
    """
    logger = get_run_logger()
    threshold = settings.relevance.threshold
    with write_connection(settings.warehouse_target) as con:
        ids = store.classify_order(con, since)
    for start in range(0, len(ids), CHUNK):
        chunk_ids = ids[start:start + CHUNK]
        with write_connection(settings.warehouse_target) as con:
            chunk = store.articles_by_ids(con, chunk_ids)
        originals = [a for a in chunk if a.duplicate_of is None]
        analysis = analyse(originals, settings.dedup, threshold)
        scores = {a.article_id: (None, None) for a in chunk}
        scores.update({a: (s, s >= threshold) for a, s in analysis.relevance.items()})
        events = [e for a in originals if scores[a.article_id][1] for e in analysis.events.get(a.article_id, [])]
        with write_connection(settings.warehouse_target) as con, store.transaction(con):
            store.delete_events(con, chunk_ids)
            store.set_relevance(con, scores)
            counters.events_added += store.insert_events(con, events, current_run_id())
        counters.relevant_articles += sum(1 for v in scores.values() if v[1])
        logger.info("classify: %d/%d articles re-classified", min(start + CHUNK, len(ids)), len(ids))
    counters.articles_reprocessed = max(counters.articles_reprocessed, len(ids))


@flow(name="reprocess", log_prints=True)
def reprocess(stage: str = "dedup", since: str | None = None, config_path: str | None = None,
              trigger: str = "manual") -> dict[str, Any]:
    """Recompute stored decisions for ``stage``; returns the run report."""
    stages = check_stage(stage)
    settings = load_settings(config_path)
    since_dt = _parse_since(since)
    run_id = current_run_id()
    counters = RunCounters()
    with write_connection(settings.warehouse_target) as con:
        store.start_run(con, run_id, "reprocess", trigger,
                        {"stage": stage, "since": since, "config_path": config_path}, datetime.now(UTC))
    status = "failed"
    try:
        ensure_seeds(settings)
        if "dedup" in stages:
            recompute_dedup(settings, since_dt, counters)
        if "classify" in stages:
            recompute_classify(settings, since_dt, counters)
        status = "completed"
    except Exception as exc:
        counters.errors.append(RunError(stage="reprocess", message=f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        with write_connection(settings.warehouse_target) as con:
            with store.transaction(con):
                store.finish_run(con, run_id, status, counters, datetime.now(UTC))
            report = load_report(con, run_id)
        if report is not None:
            publish_report(report)
    return report.as_dict() if report else {"run_id": run_id}


def _parse_since(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        parsed = datetime.fromisoformat(since)
    except ValueError as exc:
        raise ConfigError(f"--since {since!r} is not a date: use YYYY-MM-DD or an ISO timestamp") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
