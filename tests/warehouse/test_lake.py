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
from extractors.textnorm import content_hash
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


def _copies(kind: str) -> list:
    """The seeds ('seeds'), exact copies under other URLs ('exact'), or near copies: other
    URLs, the text with a closing line added ('near')."""
    seeds = load_seed_articles()
    if kind == "seeds":
        return seeds
    out = []
    for a in seeds:
        url = f"https://{kind}.example/{a.article_id}"
        text = a.text if kind == "exact" else a.text + " Our correspondent added reporting from the region."
        out.append(dataclasses.replace(a, article_id=article_id_for(url), url=url, canonical_url=url,
                                       origin="feed", text=text, content_hash=content_hash(text)))
    return out


def _writer(target: LakeTarget, kind: str, start, rounds: int) -> None:
    """Store one kind of the five stories, ``rounds`` times, starting with the others."""
    articles = _copies(kind)
    analysis = analyse(articles, DedupSettings())
    start.wait(30)
    for _ in range(rounds):
        with write_connection(target) as con:
            store_batch(con, articles, analysis, DedupSettings(), run_id=kind)


@needs_cluster
def test_two_processes_storing_the_same_stories_at_once(lake):
    """Three writer processes race: one stores the five seeds, one exact copies of them under
    other URLs, one near copies (a line added). Whatever the order, the lake ends with each
    id once, five originals and ten copies, each pointing at an original."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(lake, kind, start, 3)) for kind in ("seeds", "exact", "near")]
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
    assert len(ids) == len(set(ids)) == 15
    originals = {r[0] for r in rows if r[1] is None}
    copies = [r for r in rows if r[1] is not None]
    assert len(originals) == 5 and len(copies) == 10
    assert all(r[1] in originals and r[2] in ("text", "near") for r in copies)
    assert sum(r[2] == "near" for r in copies) >= 5  # the near copies differ from both others
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


@needs_cluster
def test_compact_merges_small_files_and_keeps_the_data(lake, tmp_path):
    import subprocess
    import sys

    seeds = load_seed_articles()
    analysis = analyse(seeds, DedupSettings())
    for i in range(6):  # six small commits: six sets of small files
        with write_connection(lake) as con:
            store_batch(con, seeds[i % 5:i % 5 + 1], analysis, DedupSettings(), run_id=f"r{i}")
            store.upsert_feed_state(con, FeedState(name="f", url=f"http://example.org/{i}"))
    before = sum(1 for _ in Path(lake.data_path).rglob("*.parquet"))
    config = tmp_path / "lake.toml"
    config.write_text(f'[warehouse]\nbackend = "ducklake"\ncatalog = "{lake.catalog}"\n'
                      f'data_path = "{lake.data_path}"\n')
    done = subprocess.run([sys.executable, "-m", "flows.cli", "compact", "--config", str(config), "--keep-days", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    after = sum(1 for _ in Path(lake.data_path).rglob("*.parquet"))
    assert f"{before} data files before, {after} after" in done.stdout
    assert after < before, (before, after)
    _, rows = run_query(lake, "SELECT count(*), count(DISTINCT article_id) FROM articles")
    assert rows == [(5, 5)]
    _, feeds = run_query(lake, "SELECT name, url FROM feeds")
    assert feeds == [("f", "http://example.org/5")]


def _hold_lock_mid_write(target: LakeTarget, holding) -> None:
    """Take the writer lock, insert the seeds without committing, then wait to be killed."""
    import time

    seeds = load_seed_articles()
    with write_connection(target) as con:
        con.execute("BEGIN TRANSACTION")
        store.insert_article_rows(con, seeds)
        holding.set()
        time.sleep(120)


@needs_cluster
def test_a_writer_killed_while_holding_the_lock_releases_it_and_writes_nothing(lake):
    import os
    import signal
    import time

    with write_connection(lake):  # migrate first, so the child only writes
        pass
    ctx = multiprocessing.get_context("spawn")
    holding = ctx.Event()
    child = ctx.Process(target=_hold_lock_mid_write, args=(lake, holding))
    child.start()
    assert holding.wait(60)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    started = time.monotonic()
    with write_connection(lake, wait_s=20) as con:  # PostgreSQL released the dead session's lock
        waited = time.monotonic() - started
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 0  # nothing half-written
    assert waited < 10
