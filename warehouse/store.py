"""Batched, idempotent writes and the reads the pipeline needs.

Every function takes an open connection; callers hold ``write_connection`` for
writes. A batch (articles + feed state + polls) is one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from extractors.records import Article, FeedPoll, FeedState, RunCounters
from extractors.timing import STAGES
from warehouse import queries

ARTICLE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()), ("origin", pa.string()), ("feed_name", pa.string()),
        ("url", pa.string()), ("canonical_url", pa.string()), ("guid", pa.string()),
        ("title", pa.string()), ("author", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")), ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("language", pa.string()), ("site_name", pa.string()), ("text", pa.string()),
        ("raw_text", pa.string()), ("word_count", pa.int32()), ("content_hash", pa.string()),
        ("extraction", pa.string()), ("extraction_note", pa.string()),
        ("duplicate_of", pa.string()), ("duplicate_kind", pa.string()),
        ("similarity", pa.float64()), ("relevance", pa.float64()), ("is_relevant", pa.bool_()),
        ("run_id", pa.string()),
    ]
)
ARTICLE_COLUMNS = ", ".join(ARTICLE_SCHEMA.names)


def _strings(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})


def known_keys(con: duckdb.DuckDBPyConnection, guids: Sequence[str], urls: Sequence[str]) -> tuple[set[str], set[str]]:
    """Return (stored guids, stored URLs) among those given (URLs match url or canonical_url)."""
    guid_list, url_list = _strings(guids), _strings(urls)
    found_guids = {r[0] for r in con.execute(queries.KNOWN_GUIDS, [guid_list]).fetchall()} if guid_list else set()
    found_urls = (
        {r[0] for r in con.execute(queries.KNOWN_URLS, [url_list, url_list]).fetchall()}
        if url_list else set()
    )
    return found_guids, found_urls


def load_feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    """Return the stored state of every feed, by name."""
    rows = con.execute(queries.FEED_STATES).fetchall()
    return {row[0]: FeedState(*row) for row in rows}


def _originals(con: duckdb.DuckDBPyConnection, sql: str, keys: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if keys:
        for key, original in con.execute(sql, [keys]).fetchall():
            found.setdefault(key, original)
    return found


def originals_by_url(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> dict[str, str]:
    """Canonical URL -> id of the original stored under it (never a copy's id)."""
    return _originals(con, queries.ORIGINALS_BY_URL, _strings(urls))


def originals_by_hash(con: duckdb.DuckDBPyConnection, hashes: Iterable[str]) -> dict[str, str]:
    """Content hash -> id of the original stored with it (never a copy's id)."""
    return _originals(con, queries.ORIGINALS_BY_HASH, _strings(hashes))


def unstored(con: duckdb.DuckDBPyConnection, articles: Sequence[Article]) -> list[Article]:
    """The articles whose ids are not stored yet, first occurrence of each id."""
    unique: dict[str, Article] = {}
    for article in articles:
        unique.setdefault(article.article_id, article)
    if not unique:
        return []
    existing = {r[0] for r in con.execute(queries.EXISTING_IDS, [list(unique)]).fetchall()}
    return [a for a in unique.values() if a.article_id not in existing]


def insert_article_rows(con: duckdb.DuckDBPyConnection, articles: Sequence[Article]) -> None:
    """Bulk-insert article rows through Arrow; ids already stored are skipped."""
    if not articles:
        return
    table = pa.Table.from_pylist([dataclasses.asdict(a) for a in articles], schema=ARTICLE_SCHEMA)
    con.register("incoming_articles", table)
    try:
        con.execute(
            f"INSERT INTO articles ({ARTICLE_COLUMNS}) SELECT {ARTICLE_COLUMNS} FROM incoming_articles i "
            "WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = i.article_id)"
        )
    finally:
        con.unregister("incoming_articles")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK and re-raise on any error: nothing half-written."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def upsert_feed_state(con: duckdb.DuckDBPyConnection, state: FeedState) -> None:
    """Insert or replace the stored state of one feed."""
    con.execute(queries.DELETE_FEED, [state.name])
    con.execute(
        queries.INSERT_FEED,
        [state.name, state.url, state.etag, state.last_modified, state.last_polled_at,
         state.last_status, state.last_error, state.consecutive_failures, state.next_poll_at, state.disabled],
    )


def insert_polls(con: duckdb.DuckDBPyConnection, polls: Sequence[FeedPoll]) -> None:
    """Record feed polls (one row per feed per run; a repeat is ignored)."""
    for p in polls:
        con.execute(
            queries.INSERT_POLL,
            [p.run_id, p.feed_name, p.polled_at, p.http_status, p.not_modified, p.entries,
             p.new_entries, p.bytes, p.elapsed_ms, p.error],
        )


def worker_name() -> str:
    """Who runs this process: $NEWSWATCH_WORKER (set it when starting a Prefect worker), else the host."""
    return os.environ.get("NEWSWATCH_WORKER") or socket.gethostname()


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow: str, trigger: str,
              parameters: dict[str, Any], started_at: datetime,
              parent_run_id: str | None = None) -> list[str]:
    """Mark runs left 'running' by a process that is gone as failed, then insert the
    ``runs`` row of this run (status 'running', with this host and pid).

    Returns the ids of the interrupted runs it marked.
    """
    host = socket.gethostname()
    interrupted = []
    for other_id, other_host, other_pid in con.execute(queries.RUNNING_RUNS).fetchall():
        if other_host == host and other_pid and not _process_alive(other_pid):
            message = f"interrupted: process {other_pid} on {host} ended before the run finished"
            con.execute(queries.MARK_INTERRUPTED, [started_at, message, other_id])
            interrupted.append(other_id)
    con.execute(queries.START_RUN, [run_id, flow, trigger, json.dumps(parameters, default=str), started_at,
                                    host, os.getpid(), parent_run_id, worker_name()])
    return interrupted


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str,
               counters: RunCounters, finished_at: datetime) -> None:
    """Write the final counters, status and errors of a run."""
    c = counters
    con.execute(
        queries.FINISH_RUN,
        [finished_at, status, c.feeds_total, c.feeds_ok, c.feeds_not_modified, c.feeds_failed,
         c.entries_seen, c.entries_new, c.articles_fetched, c.extraction_failed,
         c.duplicates_url, c.duplicates_text, c.duplicates_near, c.articles_stored,
         c.relevant_articles, c.events_added, c.articles_reprocessed,
         json.dumps([e.as_dict() for e in c.errors]),
         *[round(c.clock.snapshot()[stage], 4) for stage in STAGES], run_id],
    )


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts keyed by column name."""
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def dedup_order(con: duckdb.DuckDBPyConnection, since: datetime | None) -> list[str]:
    """Ids of the articles to re-decide, in decision order (seeds first, then as stored)."""
    return [r[0] for r in con.execute(queries.DEDUP_ORDER, [since, since]).fetchall()]


def mark_pending(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> None:
    """Clear the decisions of these articles and mark them 'pending' (not originals yet)."""
    if article_ids:
        con.execute(queries.MARK_PENDING, [list(article_ids)])


def articles_by_ids(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> list[Article]:
    """Load stored articles as records, in the order of ``article_ids``."""
    fields = {f.name for f in dataclasses.fields(Article)}
    rows = fetch_dicts(con, queries.ARTICLES_BY_IDS, [list(article_ids)])
    by_id = {r["article_id"]: Article(**{k: v for k, v in r.items() if k in fields}) for r in rows}
    return [by_id[i] for i in article_ids if i in by_id]


def apply_decisions(con: duckdb.DuckDBPyConnection, articles: Sequence[Article]) -> None:
    """Write the duplicate decisions of already-stored articles (bulk UPDATE)."""
    if not articles:
        return
    table = pa.table({
        "article_id": [a.article_id for a in articles],
        "duplicate_of": pa.array([a.duplicate_of for a in articles], pa.string()),
        "duplicate_kind": pa.array([a.duplicate_kind for a in articles], pa.string()),
        "similarity": pa.array([a.similarity for a in articles], pa.float64()),
    })
    con.register("decisions", table)
    try:
        con.execute(queries.APPLY_DECISIONS)
    finally:
        con.unregister("decisions")


def duplicate_counts(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> tuple[int, int, int]:
    """(url, text, near) duplicate counts among these articles."""
    return tuple(con.execute(queries.DUPLICATE_COUNTS, [list(article_ids)]).fetchone())  # type: ignore[return-value]


EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()), ("article_id", pa.string()), ("event_type", pa.string()),
        ("plover", pa.string()), ("cameo", pa.string()), ("is_root", pa.bool_()), ("actor1", pa.string()),
        ("actor2", pa.string()), ("location", pa.string()), ("country", pa.string()), ("latitude", pa.float64()),
        ("longitude", pa.float64()), ("event_date", pa.date32()), ("date_precision", pa.string()),
        ("fatalities", pa.int32()), ("fatalities_qualifier", pa.string()), ("evidence", pa.string()),
        ("confidence", pa.float64()), ("classifier_version", pa.string()), ("sentence_index", pa.int32()),
        ("run_id", pa.string()),
    ]
)
EVENT_COLUMNS = ", ".join(EVENT_SCHEMA.names)


def insert_events(con: duckdb.DuckDBPyConnection, events: Sequence[Any], run_id: str | None) -> int:
    """Bulk-insert event records (``extractors.classify.Event``); returns rows added."""
    if not events:
        return 0
    rows = [dataclasses.asdict(e) | {"run_id": run_id} for e in events]
    table = pa.Table.from_pylist([{k: r.get(k) for k in EVENT_SCHEMA.names} for r in rows], schema=EVENT_SCHEMA)
    con.register("incoming_events", table)
    try:
        before = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.execute(f"INSERT INTO events ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM incoming_events i "
                    "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = i.event_id)")
        return con.execute("SELECT count(*) FROM events").fetchone()[0] - before
    finally:
        con.unregister("incoming_events")


def delete_events(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> None:
    """Remove the events of these articles (reclassification replaces them)."""
    if article_ids:
        con.execute(queries.DELETE_EVENTS, [list(article_ids)])


def set_relevance(con: duckdb.DuckDBPyConnection, scores: dict[str, tuple[float | None, bool | None]]) -> None:
    """Write relevance scores and decisions of stored articles (bulk UPDATE)."""
    if not scores:
        return
    table = pa.table({
        "article_id": list(scores),
        "relevance": pa.array([v[0] for v in scores.values()], pa.float64()),
        "is_relevant": pa.array([v[1] for v in scores.values()], pa.bool_()),
    })
    con.register("scores", table)
    try:
        con.execute(queries.APPLY_RELEVANCE)
    finally:
        con.unregister("scores")


def classify_order(con: duckdb.DuckDBPyConnection, since: datetime | None) -> list[str]:
    """Ids of the articles to re-classify (stored since ``since``; all when None)."""
    return [r[0] for r in con.execute(queries.CLASSIFY_ORDER, [since, since]).fetchall()]


def enable_feed(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Re-enable a disabled feed and reset its failure count; False if the feed is unknown."""
    return bool(con.execute(queries.ENABLE_FEED, [name]).fetchall())
