"""`reprocess --stage dedup` under a real Prefect harness: recompute, idempotent, runs row."""

from __future__ import annotations

import pytest

from extractors.errors import ConfigError
from extractors.neardup import DedupSettings
from extractors.seeds import load_seed_articles
from flows.reprocess import check_stage, reprocess
from flows.storing import Analysis, compute_signatures, store_batch
from tests.flows.test_monitor_flow import q
from tests.warehouse.test_store import art
from warehouse.connection import write_connection


def _config(tmp_path, db, extra=""):
    path = tmp_path / "c.toml"
    path.write_text(f'[warehouse]\npath = "{db}"\n{extra}')
    return path


def _decisions(db):
    return dict(q(db, "SELECT article_id, coalesce(duplicate_of, '-') || ':' || coalesce(duplicate_kind, '-') "
                      "FROM articles WHERE origin = 'feed' ORDER BY 1"))


def test_reprocess_dedup_recomputes_and_is_idempotent(prefect_harness, tmp_path):
    db = tmp_path / "w.duckdb"
    settings = DedupSettings()
    seed = next(a for a in load_seed_articles() if a.article_id.startswith("seed_000"))
    paras = seed.text.split("\n")
    half = "\n".join(paras[: len(paras) // 2])
    articles = load_seed_articles() + [
        art("half", "https://x.org/half", half),
        art("exact", "https://y.org/exact", half),
        art("other", "https://z.org/other", "A different story about a bridge opening in Tbilisi " * 8),
    ]
    with write_connection(db) as con:
        store_batch(con, articles, Analysis(compute_signatures(articles, settings)), settings)
    before = _decisions(db)
    assert before == {"exact": "half:text", "half": f"{seed.article_id}:near", "other": "-:-"}

    # Stricter thresholds: the half copy is no longer a near duplicate of the seed.
    strict = _config(tmp_path, db, "[dedup]\nmin_words = 100000\njaccard_threshold = 0.9\n")
    report = reprocess(stage="dedup", config_path=str(strict))
    assert report["run"]["flow"] == "reprocess" and report["run"]["status"] == "completed"
    assert report["run"]["articles_reprocessed"] == 8
    assert _decisions(db) == {"exact": "half:text", "half": "-:-", "other": "-:-"}
    assert q(db, "SELECT count(*) FROM near_index") == [(7,)]  # 5 seeds + half + other

    again = reprocess(stage="dedup", config_path=str(strict))
    assert again["run"]["duplicates_text"] == 1 and again["run"]["duplicates_near"] == 0
    assert q(db, "SELECT count(*) FROM near_index") == [(7,)]
    assert q(db, "SELECT count(*) FROM near_bands") == [(7 * 42,)]

    # Back to the defaults: the original decision returns; nothing else moves.
    default = _config(tmp_path, db)
    reprocess(stage="dedup", config_path=str(default))
    assert _decisions(db) == before
    assert q(db, "SELECT count(*) FROM articles") == [(8,)]
    assert q(db, "SELECT count(*) FROM runs WHERE flow = 'reprocess' AND status = 'completed'") == [(3,)]


def test_reprocess_since_keeps_older_decisions(prefect_harness, tmp_path):
    db = tmp_path / "w.duckdb"
    settings = DedupSettings()
    with write_connection(db) as con:
        seeds = load_seed_articles()
        store_batch(con, seeds, Analysis(compute_signatures(seeds, settings)), settings)
    report = reprocess(stage="dedup", since="2999-01-01", config_path=str(_config(tmp_path, db)))
    assert report["run"]["articles_reprocessed"] == 0
    assert q(db, "SELECT count(*) FROM near_index") == [(5,)]


def test_stages():
    assert check_stage("dedup") == ("dedup",)
    assert check_stage("classify") == ("classify",)
    assert check_stage("all") == ("dedup", "classify")
    with pytest.raises(ConfigError, match="unknown stage"):
        check_stage("everything")


def test_reprocess_classify_replaces_events_atomically(prefect_harness, tmp_path):
    from flows.storing import analyse

    db = tmp_path / "w.duckdb"
    settings = DedupSettings()
    seeds = load_seed_articles()
    with write_connection(db) as con:
        store_batch(con, seeds, analyse(seeds, settings), settings, run_id="first")
    before = q(db, "SELECT event_id, event_type, is_root FROM events ORDER BY 1")
    assert before and q(db, "SELECT count(*) FROM events WHERE is_root") == [(5,)]

    report = reprocess(stage="classify", config_path=str(_config(tmp_path, db)))
    assert report["run"]["status"] == "completed" and report["run"]["articles_reprocessed"] == 5
    assert q(db, "SELECT event_id, event_type, is_root FROM events ORDER BY 1") == before
    assert q(db, "SELECT count(DISTINCT run_id) FROM events") == [(1,)]
    assert q(db, "SELECT run_id FROM events LIMIT 1") == [(report["run"]["run_id"],)]

    # A threshold nothing reaches: every article becomes irrelevant and loses its events.
    strict = _config(tmp_path, db, "[relevance]\nthreshold = 1.0\n")
    reprocess(stage="classify", config_path=str(strict))
    assert q(db, "SELECT count(*) FROM events") == [(0,)]
    assert q(db, "SELECT count(*) FROM articles") == [(5,)]
    reprocess(stage="all", config_path=str(_config(tmp_path, db)))
    assert q(db, "SELECT event_id, event_type, is_root FROM events ORDER BY 1") == before
