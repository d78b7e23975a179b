"""Near-duplicate decisions through the real DuckDB index (store_batch)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from extractors.neardup import BANDS, DedupSettings
from extractors.seeds import load_seed_articles
from flows.storing import Analysis, compute_signatures, store_batch
from tests.warehouse.test_store import art
from warehouse.connection import write_connection

SETTINGS = DedupSettings()


def write(con, articles):
    return store_batch(con, articles, Analysis(compute_signatures(articles, SETTINGS)), SETTINGS).inserted


@pytest.fixture
def seeded(tmp_path):
    db = tmp_path / "w.duckdb"
    with write_connection(db) as con:
        write(con, load_seed_articles())
    return db


def seed(stem: str):
    return next(a for a in load_seed_articles() if a.article_id == f"seed_{stem}")


def paragraphs(text: str) -> list[str]:
    return text.split("\n")


def test_partial_and_syndicated_copies_of_seeds_point_at_the_seed(seeded):
    mt = seed("000_a5e34d7f79b8e769")
    afp = seed("004_89978c79b3e677df")
    half = "\n".join(paragraphs(mt.text)[: len(paragraphs(mt.text)) // 2])
    dateline = "MOSCOW (AFP) — " + afp.text + "\nRead more on our Caucasus page."
    with write_connection(seeded) as con:
        stored = write(con, [art("half", "https://x.org/half", half), art("wire", "https://y.org/wire", dateline)])
        rows = dict(con.execute("SELECT article_id, duplicate_of FROM articles WHERE origin='feed'").fetchall())
        kinds = {r[0] for r in con.execute("SELECT duplicate_kind FROM articles WHERE origin='feed'").fetchall()}
    assert rows == {"half": mt.article_id, "wire": afp.article_id}
    assert kinds == {"near"}
    assert all(0.5 <= a.similarity <= 1.0 for a in stored)


def test_copy_in_same_batch_and_copy_of_copy_point_at_original(seeded):
    story = " ".join(f"Sentence {i} about the border talks held in Brussels by the two leaders." for i in range(40))
    edited = story.replace("Sentence 3 ", "Line 3 ").replace("Sentence 9 ", "Item 9 ")
    with write_connection(seeded) as con:
        write(con, [art("orig", "https://a.org/1", story), art("copy1", "https://b.org/1", edited)])
        write(con, [art("copy2", "https://c.org/1", edited + " Extra closing words from the desk.")])
        rows = dict(con.execute("SELECT article_id, duplicate_of FROM articles WHERE origin='feed'").fetchall())
        indexed = con.execute("SELECT count(*) FROM near_index").fetchone()[0]
        bands = con.execute("SELECT count(*) FROM near_bands").fetchone()[0]
    assert rows == {"orig": None, "copy1": "orig", "copy2": "orig"}
    assert indexed == 6  # five seeds + one original; copies are not indexed
    assert bands == 6 * BANDS


def test_different_stories_same_topic_are_not_merged(seeded):
    seeds = load_seed_articles()
    with write_connection(seeded) as con:
        decisions = con.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0]
    assert decisions == 0 and len(seeds) == 5


def test_rerun_is_idempotent(seeded):
    mt = seed("000_a5e34d7f79b8e769")
    copy = art("half", "https://x.org/half", "\n".join(paragraphs(mt.text)[:7]))
    with write_connection(seeded) as con:
        assert len(write(con, [copy])) == 1
        assert write(con, [copy]) == []
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 6


def test_v_stories_counts_copies_and_outlets(seeded):
    afp = seed("004_89978c79b3e677df")
    copies = [
        dataclasses.replace(
            art(f"c{i}", f"https://o{i}.org/x", f"{afp.text}\nExtra line {i} from desk {i}."),
            site_name=f"Outlet {i}", feed_name=f"feed-{i}", fetched_at=datetime(2024, 1, i + 1, tzinfo=UTC),
        )
        for i in range(3)
    ]
    with write_connection(seeded) as con:
        write(con, copies)
        row = con.execute("SELECT copies, outlets, feeds FROM v_stories WHERE story_id = ?",
                          [afp.article_id]).fetchone()
        total = con.execute("SELECT count(*) FROM v_stories").fetchone()[0]
    assert row[0] == 3
    assert row[1] == sorted(["Outlet 0", "Outlet 1", "Outlet 2", afp.site_name])
    assert row[2] == ["feed-0", "feed-1", "feed-2"]
    assert total == 5


def test_relevant_originals_get_events_and_copies_get_none(tmp_path):
    from flows.storing import analyse

    db = tmp_path / "w.duckdb"
    seeds = load_seed_articles()
    afp = seed("004_89978c79b3e677df")
    copy = art("wire", "https://y.org/wire", "MOSCOW (AFP) — " + afp.text)
    sport = art("f1", "https://z.org/f1", "Verstappen won the Azerbaijan Grand Prix in Baku on Sunday after a late "
                "safety car; qualifying had been disrupted and the podium was completed by two Ferraris. " * 3)
    batch = [*seeds, copy, sport]
    with write_connection(db) as con:
        result = store_batch(con, batch, analyse(batch, SETTINGS), SETTINGS, run_id="r1")
        rows = dict(con.execute("SELECT article_id, is_relevant FROM articles").fetchall())
        per_article = dict(con.execute("SELECT article_id, count(*) FROM events GROUP BY 1").fetchall())
        roots = con.execute("SELECT article_id, count(*) FROM events WHERE is_root GROUP BY 1").fetchall()
        again = store_batch(con, batch, analyse(batch, SETTINGS), SETTINGS, run_id="r2")
        total = con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
    assert result.relevant == 5 and result.events_added == sum(per_article.values())
    assert rows["f1"] is False and rows["wire"] is None  # copies are not scored as originals
    assert set(per_article) == {s.article_id for s in seeds}
    assert all(n == 1 for _, n in roots) and len(roots) == 5
    assert again.inserted == [] and total[0] == total[1] == result.events_added
