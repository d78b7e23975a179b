"""Warehouse: migrations, idempotent batch writes, exact duplicates, transactions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import duckdb
import pytest

from extractors.neardup import DedupSettings
from extractors.records import Article, FeedPoll, FeedState
from extractors.seeds import load_seed_articles
from extractors.textnorm import content_hash
from flows.storing import Analysis, compute_signatures, store_batch
from warehouse import store
from warehouse.connection import write_connection
from warehouse.migrations import MIGRATIONS, migrate

SETTINGS = DedupSettings()


def write(con, articles, states=(), polls=()):
    analysis = Analysis(compute_signatures(articles, SETTINGS))
    return store_batch(con, articles, analysis, SETTINGS, feed_states=states, polls=polls).inserted


def art(article_id: str, url: str, text: str, **kw) -> Article:
    base = dict(
        article_id=article_id, origin="feed", feed_name="f", url=url, canonical_url=url, guid=article_id,
        title="t", author=None, published_at=datetime(2024, 1, 1, tzinfo=UTC),
        fetched_at=datetime.now(UTC), language="en", text=text, raw_text=None,
        word_count=len(text.split()), content_hash=content_hash(text), extraction="trafilatura", run_id="r1",
    )
    return Article(**(base | kw))


@pytest.fixture
def db(tmp_path):
    return tmp_path / "w.duckdb"


def test_migrations_are_recorded_and_idempotent(db):
    with write_connection(db) as con:
        assert migrate(con) == []  # already applied on open
        versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()]
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert versions == [m.version for m in MIGRATIONS]
    assert {"articles", "events", "runs", "feeds", "feed_polls", "schema_migrations"} <= tables


def test_batch_insert_is_idempotent(db):
    batch = [art("a1", "https://x.org/1", "alpha text one"), art("a2", "https://x.org/2", "beta text two")]
    with write_connection(db) as con:
        assert len(write(con, batch)) == 2
        assert write(con, batch) == []
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 2


def test_exact_duplicates_point_at_the_original(db):
    with write_connection(db) as con:
        write(con, [art("orig", "https://x.org/1", "the same words here")])
        inserted = write(con, [
            art("copy1", "https://y.org/1", "The same, words here!"),        # same text
            art("copy2", "https://z.org/9", "other words", canonical_url="https://x.org/1"),  # same URL
            art("new1", "https://n.org/1", "fresh story text"),
            art("copy3", "https://n.org/2", "fresh story text"),            # copy within the batch
        ])
        rows = dict(con.execute("SELECT article_id, duplicate_of || ':' || duplicate_kind FROM articles").fetchall())
    assert rows["copy1"] == "orig:text"
    assert rows["copy2"] == "orig:url"
    assert rows["new1"] is None
    assert rows["copy3"] == "new1:text"
    assert {a.article_id: a.duplicate_kind for a in inserted}["copy1"] == "text"


def test_copy_of_a_copy_points_at_the_original(db):
    with write_connection(db) as con:
        write(con, [art("orig", "https://x.org/1", "wire story words")])
        write(con, [art("copy1", "https://y.org/1", "wire story words")])
        con.execute("UPDATE articles SET content_hash = 'h2' WHERE article_id = 'copy1'")
        write(con, [art("copy2", "https://z.org/1", "x", content_hash="h2")])
        original = con.execute("SELECT duplicate_of FROM articles WHERE article_id = 'copy2'").fetchone()[0]
    assert original == "orig"


def test_failed_batch_rolls_back_everything(db):
    good = art("a1", "https://x.org/1", "one")
    state = FeedState(name="f", url="https://x.org/feed", etag='"e1"')
    with write_connection(db) as con:
        bad_poll = FeedPoll("r1", "f", datetime.now(UTC), 200, False, 1, 1, 10, 5)
        broken = dataclasses.replace(bad_poll, polled_at=None)  # violates NOT NULL
        with pytest.raises(duckdb.Error):
            write(con, [good], [state], [broken])
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM feeds").fetchone()[0] == 0
        write(con, [good], [state], [bad_poll])
        assert store.load_feed_states(con)["f"].etag == '"e1"'


def test_seeds_load_once(db):
    seeds = load_seed_articles()
    assert len(seeds) == 5 and all(s.origin == "seed" for s in seeds)
    with write_connection(db) as con:
        assert len(write(con, seeds)) == 5
        assert write(con, load_seed_articles()) == []
        dates = con.execute("SELECT min(published_at)::DATE, max(published_at)::DATE FROM articles").fetchone()
    assert str(dates[0]) == "2012-06-21" and str(dates[1]) == "2023-09-21"


def test_known_keys(db):
    with write_connection(db) as con:
        write(con, [art("a1", "https://x.org/1", "t", guid="g-1")])
        guids, urls = store.known_keys(con, ["g-1", "g-2"], ["https://x.org/1", "https://x.org/2"])
    assert guids == {"g-1"} and urls == {"https://x.org/1"}
