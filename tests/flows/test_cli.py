"""The CLI as a user runs it: real processes, exit codes, messages, crash safety."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.localcluster import _descendants
from tests.flows.conftest import write_config
from warehouse.readonly import run_query

NEWSWATCH = [sys.executable, "-m", "flows.cli"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-cli")
    return {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": "",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def cli(args, env, cwd=ROOT, timeout=180):
    return subprocess.run([*NEWSWATCH, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def test_bad_config_exits_2_with_one_line(tmp_path, env):
    bad = tmp_path / "bad.toml"
    bad.write_text("[fetch]\nmax_byte = 5\n")
    result = cli(["run", "--config", str(bad)], env)
    assert result.returncode == 2
    assert "unknown config key fetch.max_byte" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    missing = cli(["feeds", "--config", str(tmp_path / "nope.toml")], env)
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_sharded_run_without_a_server_and_lake_config_errors_exit_2(tmp_path, env):
    config = tmp_path / "c.toml"
    config.write_text('[[feeds]]\nname = "a"\nurl = "http://127.0.0.1:9/feed.xml"\n')
    result = cli(["run", "--config", str(config), "--shards", "4"], env)
    assert result.returncode == 2
    assert "PREFECT_API_URL" in result.stderr and "Traceback" not in result.stderr
    lake = tmp_path / "lake.toml"
    lake.write_text('[warehouse]\nbackend = "ducklake"\n')
    result = cli(["sql", "SELECT 1", "--config", str(lake)], env)
    assert result.returncode == 2 and "warehouse.catalog is required" in result.stderr
    result = cli(["deploy", "--pool", "p", "--config", str(config)], env)
    assert result.returncode == 2 and "PREFECT_API_URL is not set" in result.stderr


def test_usage_error_exits_2(env):
    result = cli(["sql"], env)
    assert result.returncode == 2
    assert "Missing argument" in result.stderr


def test_sql_errors(tmp_path, env):
    missing = cli(["sql", "SELECT 1", "--db", str(tmp_path / "none.duckdb")], env)
    assert missing.returncode == 2 and "newswatch run" in missing.stderr


def test_run_sql_feeds_runs_report(tmp_path, env, news_site):
    server, feeds = news_site
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "c.toml", server.base_url, feeds, db)
    result = cli(["run", "--config", str(config)], env)
    assert result.returncode == 0, result.stderr
    assert "status=completed" in result.stdout and "articles stored" in result.stdout
    assert "broken" in result.stdout and "FAILED" in result.stdout

    out = cli(["sql", "SELECT origin, count(*) AS n FROM articles GROUP BY 1 ORDER BY 1",
               "--config", str(config), "--format", "json"], env)
    assert out.returncode == 0
    assert json.loads(out.stdout) == [{"origin": "feed", "n": 8}, {"origin": "seed", "n": 5}]
    csv_out = cli(["sql", "SELECT published_at FROM articles WHERE origin='seed' ORDER BY 1 LIMIT 1",
                   "--db", str(db), "--format", "csv"], env)
    assert csv_out.stdout.splitlines()[0] == "published_at"
    assert csv_out.stdout.splitlines()[1].startswith("2012-06-21")
    refused = cli(["sql", "DELETE FROM articles", "--db", str(db)], env)
    assert refused.returncode == 2 and "read-only" in refused.stderr

    feeds_out = cli(["feeds", "--config", str(config)], env)
    assert feeds_out.returncode == 0
    line = next(x for x in feeds_out.stdout.splitlines() if x.startswith("broken"))
    assert "failed" in line and " 1 " in line
    runs_out = cli(["runs", "--config", str(config), "--limit", "5"], env)
    assert runs_out.returncode == 0 and "completed" in runs_out.stdout
    report = cli(["report", "--config", str(config)], env)
    assert report.returncode == 0 and "articles stored" in report.stdout


def test_run_failure_exits_1(tmp_path, env, news_site):
    server, feeds = news_site
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = write_config(tmp_path / "c.toml", server.base_url, feeds, blocker / "w.duckdb")
    result = cli(["run", "--config", str(config)], env)
    assert result.returncode == 1
    assert "run failed" in result.stderr


def test_killed_run_leaves_a_consistent_warehouse(tmp_path, env, news_site):
    server, feeds = news_site
    db = tmp_path / "w.duckdb"
    slow = write_config(tmp_path / "slow.toml", server.base_url, {"main": feeds["main"]}, db,
                        extra="")
    slow.write_text(slow.read_text().replace("per_host_delay_s = 0.0", "per_host_delay_s = 1.5")
                    .replace("batch_size = 3", "batch_size = 1"))
    proc = subprocess.Popen([*NEWSWATCH, "run", "--config", str(slow)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 90
        stored = 0
        while time.monotonic() < deadline and stored == 0:
            time.sleep(0.5)
            try:
                stored = run_query(db, "SELECT count(*) FROM articles WHERE origin='feed'", wait_s=2)[1][0][0]
            except Exception:
                continue
        assert stored > 0, "the run never stored an article"
        children = _descendants(proc.pid)  # Prefect's temporary server, the extraction pool
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        for pid in children:  # orphans of the killed run
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    fast = write_config(tmp_path / "fast.toml", server.base_url, {"main": feeds["main"]}, db)
    result = cli(["run", "--config", str(fast)], env)
    assert result.returncode == 0, result.stderr
    _, rows = run_query(db, "SELECT count(*), count(DISTINCT article_id), count(DISTINCT url) "
                            "FROM articles WHERE origin = 'feed'")
    assert rows == [(8, 8, 8)]
    _, runs = run_query(db, "SELECT status, count(*) FROM runs GROUP BY 1 ORDER BY 1")
    assert runs == [("completed", 1), ("failed", 1)]  # the killed run is marked interrupted
    _, why = run_query(db, "SELECT errors->0->>'message' FROM runs WHERE status = 'failed'")
    assert "interrupted" in why[0][0]
    _, served = run_query(db, "SELECT count(*) FROM articles WHERE origin = 'feed' AND url LIKE '%/news/%'")
    assert served == [(8,)]  # every entry the killed run saw is stored now, once


def test_demo_runs_and_second_demo_adds_nothing(tmp_path, env):
    db = tmp_path / "demo.duckdb"
    first = cli(["demo", "--db", str(db)], env)
    assert first.returncode == 0, first.stderr
    assert "status=completed" in first.stdout and "Example queries" in first.stdout
    _, rows = run_query(db, "SELECT origin, count(*) FROM articles GROUP BY 1 ORDER BY 1")
    feed_rows = dict(rows)["feed"]
    assert feed_rows >= 15 and dict(rows)["seed"] == 5
    _, fallback = run_query(db, "SELECT extraction FROM articles WHERE url LIKE '%treaty-text%'")
    assert fallback == [("feed_content",)]
    _, missing = run_query(db, "SELECT extraction FROM articles WHERE url LIKE '%retracted-story%'")
    assert missing == [("feed_summary",)]
    _, tracked = run_query(db, "SELECT count(*) FROM articles WHERE url LIKE '%utm_%'")
    assert tracked == [(0,)]
    _, copies = run_query(db, "SELECT url, duplicate_of, duplicate_kind FROM articles "
                              "WHERE duplicate_of IS NOT NULL ORDER BY url")
    assert [(u.rsplit("/", 1)[-1], d, k) for u, d, k in copies] == [
        ("2013-paris-foreign-ministers-karabakh-talks.html", "seed_000_a5e34d7f79b8e769", "near"),
        ("2021-putin-hosts-aliyev-pashinyan-kremlin.html", "seed_004_89978c79b3e677df", "near"),
    ]
    assert "Timeline" in first.stdout
    briefing = db.with_name("demo-briefing.html")
    assert f"HTML briefing (open it in a browser; it works offline): {briefing}" in first.stdout
    assert briefing.stat().st_size > 1_000_000
    _, roots = run_query(db, "SELECT count(*), count(DISTINCT article_id) FROM events WHERE is_root")
    _, relevant = run_query(db, "SELECT count(*) FROM articles WHERE is_relevant")
    assert roots[0][0] == roots[0][1] == relevant[0][0] >= 18  # 5 seeds + the on-topic demo stories
    _, seeds = run_query(db, "SELECT count(DISTINCT article_id) FROM events WHERE article_id LIKE 'seed_%'")
    assert seeds == [(5,)]
    _, sport = run_query(db, "SELECT is_relevant FROM articles WHERE url LIKE '%grand-prix%'")
    assert sport == [(False,)]
    _, copies = run_query(db, "SELECT count(*) FROM events JOIN articles USING (article_id) "
                              "WHERE duplicate_of IS NOT NULL")
    assert copies == [(0,)]
    second = cli(["demo", "--db", str(db)], env)
    assert second.returncode == 0, second.stderr
    assert "Stored 0 new articles" in second.stdout
    _, again = run_query(db, "SELECT count(*) FROM articles WHERE origin = 'feed'")
    assert again == [(feed_rows,)]
    _, last = run_query(db, "SELECT feeds_not_modified, entries_new FROM runs ORDER BY started_at DESC LIMIT 1")
    assert last == [(3, 0)]
