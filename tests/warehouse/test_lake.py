"""The DuckLake backend on a real PostgreSQL catalog: migrations, idempotent writes,
concurrent writers in separate processes, the read-only sandbox."""

from __future__ import annotations

import dataclasses
import multiprocessing
from pathlib import Path

import pytest

from extractors.articles import article_id_for
from extractors.neardup import DedupSettings
from extractors.records import FeedState
from extractors.seeds import load_seed_articles
from flows.localcluster import postgres, unavailable_reason
from flows.storing import analyse, store_batch
from warehouse import store
from warehouse.connection import read_connection, write_connection
from warehouse.lake import LakeTarget, redact
from warehouse.migrations import MIGRATIONS, for_backend
from warehouse.readonly import ReadOnlyViolation, run_query

needs_cluster = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")


def test_for_backend_drops_what_ducklake_lacks():
    create = "CREATE TABLE t (id VARCHAR PRIMARY KEY, n INTEGER DEFAULT 0, PRIMARY KEY (id))"
    assert for_backend(create, "duckdb") == create
    assert for_backend(create, "ducklake") == "CREATE TABLE t (id VARCHAR, n INTEGER DEFAULT 0)"
    assert for_backend("CREATE INDEX i ON t (n)", "ducklake") is None
    assert for_backend("ALTER TABLE feeds ADD COLUMN disabled BOOLEAN DEFAULT FALSE", "ducklake") == \
        "ALTER TABLE feeds ADD COLUMN disabled BOOLEAN"
    # every registered statement has a DuckLake form without keys or indexes
    for migration in MIGRATIONS:
        for statement in migration.statements:
            adapted = for_backend(statement, "ducklake")
            assert adapted is None or "PRIMARY KEY" not in adapted.upper()


def test_redact_hides_passwords():
    assert redact("dbname=lake host=db user=nw password=s3cret") == "dbname=lake host=db user=nw"
    assert redact("postgresql://nw:s3cret@db:5432/lake") == "postgresql://nw@db:5432/lake"


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    if unavailable_reason():
        pytest.skip(unavailable_reason())
    with postgres(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture
def lake(pg, tmp_path, request) -> LakeTarget:
    name = "lake_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    pg.create_database(name)
    return LakeTarget(pg.libpq_dsn(name), str(tmp_path / "lake"))


@needs_cluster
def test_lake_migrates_and_writes_idempotently(lake):
    seeds = load_seed_articles()
    analysis = analyse(seeds, DedupSettings())
    for _ in range(2):  # a rerun adds nothing
        with write_connection(lake) as con:
            store_batch(con, seeds, analysis, DedupSettings(), run_id="r1")
            store.upsert_feed_state(con, FeedState(name="f", url="http://example.org/feed"))
    with read_connection(lake) as con:
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == \
            max(m.version for m in MIGRATIONS)
        assert con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone() == (5, 5)
        events = con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
        assert events[0] == events[1] > 0
        assert con.execute("SELECT count(*) FROM feeds").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM v_stories").fetchone()[0] == 5
    assert list(Path(lake.data_path).rglob("*.parquet")), "the lake's data files live under data_path"


def _writer(target: LakeTarget, as_copies: bool, start, rounds: int) -> None:
    """Store the seeds (or copies of them under other URLs), ``rounds`` times."""
    seeds = load_seed_articles()
    if as_copies:
        seeds = [dataclasses.replace(a, article_id=article_id_for(f"https://mirror.example/{a.article_id}"),
                                     url=f"https://mirror.example/{a.article_id}",
                                     canonical_url=f"https://mirror.example/{a.article_id}", origin="feed")
                 for a in seeds]
    analysis = analyse(seeds, DedupSettings())
    start.wait(30)
    for _ in range(rounds):
        with write_connection(target) as con:
            store_batch(con, seeds, analysis, DedupSettings(), run_id="copies" if as_copies else "seeds")


@needs_cluster
def test_two_processes_storing_the_same_stories_at_once(lake):
    """Two writer processes race: one stores the five seeds, the other five copies of them
    under other URLs (same text). Whatever the order, the lake ends with each id once,
    five originals and five copies pointing at them."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(lake, copies, start, 3)) for copies in (False, True)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with read_connection(lake) as con:
        rows = con.execute("SELECT article_id, duplicate_of, duplicate_kind FROM articles").fetchall()
        index = con.execute("SELECT count(*), count(DISTINCT article_id) FROM near_index").fetchone()
        events = con.execute("SELECT count(*), count(DISTINCT event_id), count(DISTINCT article_id) "
                             "FROM events").fetchone()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == 10
    originals = {r[0] for r in rows if r[1] is None}
    copies = [r for r in rows if r[1] is not None]
    assert len(originals) == 5 and len(copies) == 5
    assert all(r[1] in originals and r[2] == "text" for r in copies)
    assert index[0] == index[1] == 5  # only originals are indexed, once each
    assert events[0] == events[1] and events[2] == 5  # events of the originals only


@needs_cluster
def test_sql_on_the_lake_is_read_only(lake):
    seeds = load_seed_articles()
    with write_connection(lake) as con:
        store_batch(con, seeds, analyse(seeds, DedupSettings()), DedupSettings())
    columns, rows = run_query(lake, "SELECT origin, count(*) AS n FROM articles GROUP BY 1")
    assert columns == ["origin", "n"] and rows == [("seed", 5)]
    with pytest.raises(ReadOnlyViolation):
        run_query(lake, "SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(ReadOnlyViolation):
        run_query(lake, "DELETE FROM articles")
