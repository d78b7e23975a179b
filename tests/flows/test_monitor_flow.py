"""End-to-end monitor flow runs under a real Prefect harness, real HTTP, real DuckDB."""

from __future__ import annotations

import json

import duckdb

from flows.monitor import monitor
from tests.flows.conftest import write_config


def q(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_monitor_run_then_rerun_adds_nothing(prefect_harness, news_site, tmp_path):
    server, feeds = news_site
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "c.toml", server.base_url, feeds, db)

    first = monitor(config_path=str(config))
    run = first["run"]
    assert run["status"] == "completed"
    assert run["feeds_total"] == 3 and run["feeds_ok"] == 2 and run["feeds_failed"] == 1
    assert run["entries_seen"] == 9 and run["entries_new"] == 8  # atom repeats story 1
    assert run["duplicates_text"] == 1
    assert run["extraction_failed"] == 1 and run["articles_stored"] == 8
    stages = {(e["stage"], e["feed"]) for e in run["errors"]}
    assert ("poll", "broken") in stages and ("fetch", "main") in stages
    # every stage did work, so each recorded some time
    for stage in ("poll", "fetch", "extract", "dedup", "classify", "write"):
        assert run[f"{stage}_seconds"] > 0, stage

    rows = q(db, "SELECT origin, count(*) FROM articles GROUP BY 1 ORDER BY 1")
    assert rows == [("feed", 8), ("seed", 5)]
    gone = q(db, "SELECT extraction, extraction_note FROM articles WHERE url LIKE '%gone.html'")
    assert gone[0][0] == "feed_summary" and "404" in gone[0][1]
    copy = q(db, "SELECT duplicate_of, duplicate_kind FROM articles WHERE url LIKE '%copy-of-0.html'")
    original = q(db, "SELECT article_id FROM articles WHERE url LIKE '%/news/0.html'")
    assert copy == [(original[0][0], "text")]
    assert q(db, "SELECT count(*) FROM articles WHERE url LIKE '%utm_%'") == [(0,)]
    assert q(db, "SELECT count(DISTINCT run_id) FROM articles WHERE origin = 'feed'") == [(1,)]
    states = dict(q(db, "SELECT name, last_status FROM feeds"))
    assert states == {"main": "ok", "second": "ok", "broken": "failed"}

    second = monitor(config_path=str(config))["run"]
    assert second["status"] == "completed"
    assert second["feeds_not_modified"] == 2 and second["entries_new"] == 0
    assert second["articles_stored"] == 0
    assert q(db, "SELECT count(*) FROM articles") == [(13,)]
    polls = q(db, f"SELECT feed_name, not_modified, http_status FROM feed_polls "
                  f"WHERE run_id = '{second['run_id']}' ORDER BY 1")
    assert polls == [("broken", False, 200), ("main", True, 304), ("second", True, 304)]
    conditional = [h for p, h in server.requests if p == "/feeds/main.xml"][-1]
    assert "If-None-Match" in conditional
    assert q(db, "SELECT count(*), count(DISTINCT run_id) FROM runs WHERE status = 'completed'") == [(2, 2)]
    failures = q(db, "SELECT consecutive_failures FROM feeds WHERE name = 'broken'")
    assert failures == [(2,)]
    errors = json.loads(q(db, f"SELECT errors FROM runs WHERE run_id = '{second['run_id']}'")[0][0])
    assert [e["feed"] for e in errors] == ["broken"]


def test_transient_failures_are_retried_next_run(prefect_harness, news_site, tmp_path):
    """A page behind a connection error is not stored, the feed's validators are not
    saved, and the next run re-reads the feed and stores the page."""
    server, feeds = news_site
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "c.toml", server.base_url, {"main": feeds["main"]}, db)
    # Point story 2 at a closed port: a connection error is transient.
    feed = server.root / "feeds" / "main.xml"
    text = feed.read_text()
    feed.write_text(text.replace("{{BASE_URL}}/news/2.html", "http://127.0.0.1:9/news/2.html"))
    first = monitor(config_path=str(config))["run"]
    assert first["status"] == "completed"
    assert any(e["stage"] == "fetch" and "127.0.0.1:9" in e["url"] for e in first["errors"])
    assert q(db, "SELECT count(*) FROM articles WHERE url LIKE '%:9/news/2.html'") == [(0,)]
    etag = q(db, "SELECT etag FROM feeds WHERE name = 'main'")[0][0]
    assert etag is None  # validators not saved: the next poll re-reads the whole feed
    feed.write_text(text)  # the link works again
    second = monitor(config_path=str(config))["run"]
    assert second["feeds_not_modified"] == 0 and second["entries_new"] == 1
    assert q(db, "SELECT count(*) FROM articles WHERE url LIKE '%/news/2.html'") == [(1,)]


def test_failing_feed_is_disabled_then_enabled(prefect_harness, news_site, tmp_path):
    import subprocess
    import sys

    from warehouse.connection import read_connection
    from warehouse.reports import format_text, load_report

    server, feeds = news_site
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "c.toml", server.base_url, {"broken": feeds["broken"]}, db,
                          extra="")
    config.write_text(config.read_text().replace("[run]\n", "[run]\ndisable_after_failures = 2\n"))
    first = monitor(config_path=str(config))["run"]
    assert first["feeds_failed"] == 1
    second = monitor(config_path=str(config))["run"]
    assert any("feed disabled after 2 consecutive failures" in e["message"] for e in second["errors"])
    assert q(db, "SELECT disabled, consecutive_failures, next_poll_at > last_polled_at FROM feeds") == [
        (True, 2, True)]
    polls_before = sum(1 for p, _ in server.requests if p == "/feeds/broken.xml")
    third = monitor(config_path=str(config))["run"]
    assert third["feeds_total"] == 0
    assert any("is disabled" in e["message"] and "--enable broken" in e["message"] for e in third["errors"])
    assert sum(1 for p, _ in server.requests if p == "/feeds/broken.xml") == polls_before  # not polled
    with read_connection(db, sandboxed=False) as con:
        text = format_text(load_report(con, third["run_id"]))
    assert "Problems (1), by stage:" in text and "poll (1):" in text

    enabled = subprocess.run([sys.executable, "-m", "flows.cli", "feeds", "--config", str(config),
                              "--enable", "broken"], capture_output=True, text=True, timeout=60)
    assert enabled.returncode == 0 and "feed broken enabled" in enabled.stdout
    assert q(db, "SELECT disabled, consecutive_failures FROM feeds") == [(False, 0)]
    fourth = monitor(config_path=str(config))["run"]
    assert fourth["feeds_total"] == 1 and fourth["feeds_failed"] == 1
