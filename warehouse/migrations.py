"""Registered, ordered schema migrations, each applied in its own transaction
and recorded in ``schema_migrations``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "core tables: articles, events, runs, feeds, feed_polls",
        (
            """
            CREATE TABLE articles (
                article_id      VARCHAR PRIMARY KEY,
                origin          VARCHAR NOT NULL,
                feed_name       VARCHAR,
                url             VARCHAR NOT NULL,
                canonical_url   VARCHAR NOT NULL,
                guid            VARCHAR,
                title           VARCHAR,
                author          VARCHAR,
                published_at    TIMESTAMPTZ,
                fetched_at      TIMESTAMPTZ,
                language        VARCHAR,
                site_name       VARCHAR,
                text            VARCHAR,
                raw_text        VARCHAR,
                word_count      INTEGER,
                content_hash    VARCHAR,
                extraction      VARCHAR,
                extraction_note VARCHAR,
                duplicate_of    VARCHAR,
                duplicate_kind  VARCHAR,
                similarity      DOUBLE,
                relevance       DOUBLE,
                is_relevant     BOOLEAN,
                run_id          VARCHAR
            )
            """,
            "CREATE INDEX articles_canonical_url ON articles (canonical_url)",
            "CREATE INDEX articles_content_hash ON articles (content_hash)",
            "CREATE INDEX articles_guid ON articles (guid)",
            """
            CREATE TABLE events (
                event_id           VARCHAR PRIMARY KEY,
                article_id         VARCHAR NOT NULL,
                event_type         VARCHAR NOT NULL,
                plover             VARCHAR,
                cameo              VARCHAR,
                is_root            BOOLEAN NOT NULL DEFAULT FALSE,
                actor1             VARCHAR,
                actor2             VARCHAR,
                location           VARCHAR,
                country            VARCHAR,
                latitude           DOUBLE,
                longitude          DOUBLE,
                event_date         DATE,
                date_precision     VARCHAR,
                fatalities         INTEGER,
                evidence           VARCHAR,
                confidence         DOUBLE,
                classifier_version VARCHAR,
                run_id             VARCHAR
            )
            """,
            "CREATE INDEX events_article ON events (article_id)",
            """
            CREATE TABLE runs (
                run_id              VARCHAR PRIMARY KEY,
                flow                VARCHAR NOT NULL,
                trigger             VARCHAR,
                parameters          JSON,
                started_at          TIMESTAMPTZ NOT NULL,
                finished_at         TIMESTAMPTZ,
                status              VARCHAR NOT NULL,
                feeds_total         INTEGER DEFAULT 0,
                feeds_ok            INTEGER DEFAULT 0,
                feeds_not_modified  INTEGER DEFAULT 0,
                feeds_failed        INTEGER DEFAULT 0,
                entries_seen        INTEGER DEFAULT 0,
                entries_new         INTEGER DEFAULT 0,
                articles_fetched    INTEGER DEFAULT 0,
                extraction_failed   INTEGER DEFAULT 0,
                duplicates_url      INTEGER DEFAULT 0,
                duplicates_text     INTEGER DEFAULT 0,
                duplicates_near     INTEGER DEFAULT 0,
                articles_stored     INTEGER DEFAULT 0,
                relevant_articles   INTEGER DEFAULT 0,
                events_added        INTEGER DEFAULT 0,
                errors              JSON
            )
            """,
            """
            CREATE TABLE feeds (
                name                 VARCHAR PRIMARY KEY,
                url                  VARCHAR NOT NULL,
                etag                 VARCHAR,
                last_modified        VARCHAR,
                last_polled_at       TIMESTAMPTZ,
                last_status          VARCHAR,
                last_error           VARCHAR,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                next_poll_at         TIMESTAMPTZ
            )
            """,
            """
            CREATE TABLE feed_polls (
                run_id       VARCHAR NOT NULL,
                feed_name    VARCHAR NOT NULL,
                polled_at    TIMESTAMPTZ NOT NULL,
                http_status  INTEGER,
                not_modified BOOLEAN NOT NULL,
                entries      INTEGER NOT NULL,
                new_entries  INTEGER NOT NULL,
                bytes        BIGINT NOT NULL,
                elapsed_ms   INTEGER NOT NULL,
                error        VARCHAR,
                PRIMARY KEY (run_id, feed_name)
            )
            """,
        ),
    ),
    Migration(
        2,
        "near-duplicate index (MinHash LSH bands) and the v_stories view",
        (
            """
            CREATE TABLE near_index (
                doc_key    BIGINT PRIMARY KEY,
                article_id VARCHAR NOT NULL,
                shingles   INTEGER NOT NULL,
                signature  BLOB NOT NULL
            )
            """,
            "CREATE TABLE near_bands (band_key BIGINT NOT NULL, doc_key BIGINT NOT NULL)",
            "CREATE INDEX near_bands_key ON near_bands (band_key)",
            """
            CREATE VIEW v_stories AS
            SELECT o.article_id                                   AS story_id,
                   o.title,
                   o.published_at,
                   o.origin,
                   count(c.article_id)                            AS copies,
                   list_sort(list_distinct(list_concat(
                       [coalesce(o.site_name, o.feed_name, o.origin)],
                       list(coalesce(c.site_name, c.feed_name, c.origin))
                           FILTER (WHERE c.article_id IS NOT NULL)))) AS outlets,
                   list_sort(list_distinct(list_concat(
                       list_filter([o.feed_name], x -> x IS NOT NULL),
                       list(c.feed_name) FILTER (WHERE c.feed_name IS NOT NULL)))) AS feeds,
                   list(c.article_id ORDER BY c.fetched_at)
                       FILTER (WHERE c.article_id IS NOT NULL)    AS copy_ids
            FROM articles o
            LEFT JOIN articles c ON c.duplicate_of = o.article_id
            WHERE o.duplicate_of IS NULL
            GROUP BY o.article_id, o.title, o.published_at, o.origin, o.site_name, o.feed_name
            """,
        ),
    ),
    Migration(
        3,
        "runs.articles_reprocessed",
        ("ALTER TABLE runs ADD COLUMN articles_reprocessed INTEGER DEFAULT 0",),
    ),
    Migration(
        4,
        "events: fatality hedge and sentence position",
        (
            "ALTER TABLE events ADD COLUMN fatalities_qualifier VARCHAR",
            "ALTER TABLE events ADD COLUMN sentence_index INTEGER",
        ),
    ),
    Migration(
        5,
        "runs: the process that owns a run in progress (to detect interrupted runs)",
        (
            "ALTER TABLE runs ADD COLUMN host VARCHAR",
            "ALTER TABLE runs ADD COLUMN pid INTEGER",
        ),
    ),
    Migration(
        6,
        "feeds: disabled after repeated failures",
        ("ALTER TABLE feeds ADD COLUMN disabled BOOLEAN DEFAULT FALSE",),
    ),
    Migration(
        7,
        "runs: seconds spent per stage (summed over threads and processes)",
        tuple(f"ALTER TABLE runs ADD COLUMN {stage}_seconds DOUBLE"
              for stage in ("poll", "fetch", "extract", "dedup", "classify", "write")),
    ),
    Migration(
        8,
        "runs: sharded monitor passes (parent run) and the worker that ran each run",
        (
            "ALTER TABLE runs ADD COLUMN parent_run_id VARCHAR",
            "ALTER TABLE runs ADD COLUMN worker VARCHAR",
        ),
    ),
)


BACKENDS = ("duckdb", "ducklake")
_ADD_COLUMN_DEFAULT = re.compile(r"^(\s*ALTER\s+TABLE\s+\w+\s+ADD\s+COLUMN\s+.*?)\s+DEFAULT\s+\S+\s*$",
                                 re.IGNORECASE | re.DOTALL)


def for_backend(statement: str, backend: str) -> str | None:
    """The statement as ``backend`` runs it (None: skip it).

    DuckLake has no primary keys, unique constraints or indexes (uniqueness is kept by
    the writer lock, see ``warehouse.lake``), and no non-literal defaults on added columns
    (readers coalesce those columns).
    """
    if backend == "duckdb":
        return statement
    if re.match(r"\s*CREATE\s+INDEX", statement, re.IGNORECASE):
        return None
    statement = re.sub(r",\s*PRIMARY\s+KEY\s*\([^)]*\)", "", statement, flags=re.IGNORECASE)
    statement = re.sub(r"\s+PRIMARY\s+KEY\b", "", statement, flags=re.IGNORECASE)
    if match := _ADD_COLUMN_DEFAULT.match(statement):
        statement = match.group(1)
    return statement


def applied_versions(con: duckdb.DuckDBPyConnection, backend: str = "duckdb") -> set[int]:
    """Return the migration versions already recorded (creating the ledger if needed)."""
    ledger = for_backend(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
        backend,
    )
    con.execute(ledger)
    return {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection, backend: str = "duckdb") -> list[int]:
    """Apply pending migrations in order, each in its own transaction; return those applied."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown warehouse backend {backend!r}")
    done = applied_versions(con, backend)
    applied = []
    for migration in sorted(MIGRATIONS, key=lambda m: m.version):
        if migration.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in migration.statements:
                if (adapted := for_backend(statement, backend)) is not None:
                    con.execute(adapted)
            con.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.name, datetime.now(UTC)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
